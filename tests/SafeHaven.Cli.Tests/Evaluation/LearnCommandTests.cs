using System.Text.Json;
using SafeHaven.Core.Rules;

namespace SafeHaven.Cli.Tests.Evaluation;

/// <summary><c>safehaven learn</c>: rules from a benign trace that load and do not fire on it.</summary>
public sealed class LearnCommandTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Learnt_rules_load_and_give_zero_false_positives_on_their_trace()
    {
        using var t = new SyntheticTrace();
        var trace = t.WriteChannelTrace();
        var rules = t.File("learnt.yaml");

        var learn = await CliRunner.RunAsync(Timeout, "learn", trace, "--margin", "1.5", "--out", rules);
        var evaluate = await CliRunner.RunAsync(Timeout, "evaluate", trace, "--rules", rules, "--unlabelled", "benign", "--json", "--out", t.File("out"));

        Assert.True(learn.ExitCode == 0, learn.Stderr);
        var set = RulesParser.Load(rules);
        Assert.Equal(["context-switches", "page-faults"], set.Rules.Select(r => r.Counter).Order(StringComparer.Ordinal));
        // Highest context-switch rate: 50,000/s; × 1.5.
        Assert.Equal(75_000, set.Rules.Single(r => r.Counter == "context-switches").Threshold);
        Assert.Contains("max 50000", File.ReadAllText(rules), StringComparison.Ordinal);
        Assert.True(evaluate.ExitCode == 0, evaluate.Stderr);
        var json = JsonDocument.Parse(evaluate.Stdout).RootElement;
        Assert.Equal((0, 0, 2), (json.GetProperty("detections").GetInt32(), json.GetProperty("falsePositives").GetInt32(), json.GetProperty("trueNegatives").GetInt32()));
    }

    [Theory]
    [InlineData("--margin", "0.5", "margin must be a number ≥ 1")]
    [InlineData("--scope", "rack", "scope 'rack'")]
    [InlineData("--statistic", "p50", "p50")]
    public async Task Bad_options_exit_2_naming_them(string flag, string value, string problem)
    {
        using var t = new SyntheticTrace();

        var run = await CliRunner.RunAsync(Timeout, "learn", t.WriteChannelTrace(), flag, value);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(problem, run.Stderr, StringComparison.Ordinal);
        Assert.Equal("", run.Stdout);
    }
}
