using SafeHaven.Core.Rules;
using SafeHaven.Evaluation.Learning;
using SafeHaven.Traces;

namespace SafeHaven.Evaluation.Tests;

/// <summary>
/// The figures of docs/EVALUATION.md, from the traces bundled under tests/traces (recorded here through the real probe,
/// no CPU PMU: software counters only). A change of the rules, the detector or the traces that moves them fails here.
/// </summary>
public class BundledTracesTests
{
    private static readonly string Root = FindRoot();
    private static readonly RuleSet Shipped = RulesParser.Load(Path.Combine(Root, "examples", "rules", "covert-channel.yaml"));
    private static readonly string[] Benign = ["benign-idle", "benign-compile", "benign-busy"];

    [Theory]
    [InlineData("channel-noisy", 1)]
    [InlineData("channel-switch", 2)]
    public void Shipped_rules_detect_the_context_switch_channels(string trace, int channels)
    {
        var score = Score(trace, Shipped);

        Assert.Equal((channels, 0, 0), (score.TruePositives, score.FalsePositives, score.FalseNegatives));
        Assert.Equal(1.0, score.Recall);
        Assert.Equal(1.0, score.Precision);
    }

    [Theory]
    [InlineData("benign-idle")]
    [InlineData("benign-compile")]
    public void Shipped_rules_give_no_false_positive_on_quiet_benign_traces(string trace)
    {
        Assert.Equal(0, Score(trace, Shipped).FalsePositives);
    }

    [Fact]
    public void Shipped_rules_flag_the_busy_benign_stress_ng_worker()
    {
        // stress-ng --cpu's worker switches context ≈2,200 times a second on this 2-core host at load 25–55: above the
        // demo rule's 2,000/s. The known false positive of the shipped rule (docs/EVALUATION.md).
        var score = Score("benign-busy", Shipped);

        var fp = Assert.Single(score.Processes, p => p.Outcome == Outcome.FalsePositive);
        Assert.Equal("stress-ng-cpu", fp.Comm);
    }

    [Theory]
    [InlineData("channel-cache")]
    [InlineData("channel-lockbus")]
    public void Without_a_PMU_the_shipped_rule_misses_cache_and_bus_lock_channels(string trace)
    {
        var score = Score(trace, Shipped);

        Assert.Equal((0, 1), (score.TruePositives, score.FalseNegatives));
    }

    [Fact]
    public void Rules_learnt_from_the_benign_traces_give_no_false_positive_on_them_and_still_detect_the_switch_channels()
    {
        var learner = new RateLearner();
        foreach (var name in Benign)
        {
            foreach (var entry in TraceReader.ReadAll(TracePath(name)).Where(e => e.Kind == TraceKind.Samples))
            {
                learner.Add(entry.Sample!);
            }
        }
        var learnt = RulesParser.Parse(LearntRules.Write(learner, new LearnOptions()), "learnt.yaml");

        foreach (var name in Benign)
        {
            Assert.Equal(0, Score(name, learnt, UnlabelledPolicy.Benign).FalsePositives);
        }
        Assert.Equal(1.0, Score("channel-noisy", learnt).Recall);
        Assert.Equal(1.0, Score("channel-switch", learnt).Recall);
    }

    private static EvaluationScore Score(string name, RuleSet rules, UnlabelledPolicy policy = UnlabelledPolicy.Ignore)
    {
        var run = new TraceEvaluator(rules);
        foreach (var entry in TraceReader.ReadAll(TracePath(name)))
        {
            if (entry.Kind == TraceKind.Samples)
            {
                run.Add(entry.Sample!);
            }
        }
        var labels = LabelsParser.Load(Path.Combine(Root, "tests", "traces", name + ".labels.csv"));
        return Scoring.Score(run, labels, policy);
    }

    private static string TracePath(string name) => Path.Combine(Root, "tests", "traces", name + ".trace");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (Directory.Exists(Path.Combine(dir.FullName, "tests", "traces")) && File.Exists(Path.Combine(dir.FullName, "SafeHaven.sln")))
            {
                return dir.FullName;
            }
        }
        throw new DirectoryNotFoundException("no repository root with tests/traces above " + AppContext.BaseDirectory);
    }
}
