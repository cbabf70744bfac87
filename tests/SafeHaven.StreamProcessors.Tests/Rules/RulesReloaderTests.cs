using SafeHaven.Core.Detector;
using SafeHaven.Core.Rules;
using SafeHaven.StreamProcessors.Rules;

namespace SafeHaven.StreamProcessors.Tests.Rules;

/// <summary>The reload decision alone: parse, then replace or keep and say why.</summary>
public sealed class RulesReloaderTests
{
    internal static string Yaml(params string[] names) => "rules:\n" + string.Concat(names.Select(n =>
        $"  - name: {n}\n    counter: context-switches\n    threshold: 1000\n    scope: core\n"));

    private static DetectorEngine Engine() => new(RulesParser.Parse(Yaml("old"), "rules.yaml"));

    [Fact]
    public void A_valid_file_replaces_the_rules()
    {
        var engine = Engine();
        var reloader = new RulesReloader(engine, "rules.yaml", _ => Yaml("a", "b"));

        var outcome = reloader.Reload();

        Assert.Equal(new RulesReloadOutcome(true, true, 2, null), outcome);
        Assert.Equal(["a", "b"], engine.Rules.Rules.Select(r => r.Name));
    }

    [Fact]
    public void An_invalid_file_keeps_the_old_rules_and_names_file_and_line()
    {
        var engine = Engine();
        var before = engine.Rules;
        var reloader = new RulesReloader(engine, "rules.yaml", _ => Yaml("a").Replace("threshold: 1000", "threshold: -5", StringComparison.Ordinal));

        var outcome = reloader.Reload();

        Assert.False(outcome.Applied);
        Assert.Equal(1, outcome.RuleCount);
        Assert.StartsWith("rules.yaml:4: threshold must be > 0", outcome.Problem, StringComparison.Ordinal);
        Assert.Same(before, engine.Rules);
    }

    [Fact]
    public void An_unreadable_file_keeps_the_old_rules()
    {
        var engine = Engine();
        var before = engine.Rules;
        var reloader = new RulesReloader(engine, "rules.yaml", _ => throw new FileNotFoundException("gone"));

        var outcome = reloader.Reload();

        Assert.False(outcome.Applied);
        Assert.Contains("rules.yaml:0: cannot read rules file: gone", outcome.Problem, StringComparison.Ordinal);
        Assert.Same(before, engine.Rules);
    }

    [Fact]
    public void The_same_text_again_is_not_a_change()
    {
        var engine = Engine();
        var text = Yaml("a");
        var reloader = new RulesReloader(engine, "rules.yaml", _ => text);
        Assert.True(reloader.Reload().Changed);
        var applied = engine.Rules;

        var again = reloader.Reload();

        Assert.Equal(new RulesReloadOutcome(true, false, 1, null), again);
        Assert.Same(applied, engine.Rules);
    }

    [Fact]
    public void A_fixed_file_after_a_broken_one_is_applied()
    {
        var engine = Engine();
        var text = "rules: [";
        var reloader = new RulesReloader(engine, "rules.yaml", _ => text);
        Assert.False(reloader.Reload().Applied);

        text = Yaml("fixed");
        var outcome = reloader.Reload();

        Assert.True(outcome.Applied);
        Assert.Equal("fixed", Assert.Single(engine.Rules.Rules).Name);
    }
}
