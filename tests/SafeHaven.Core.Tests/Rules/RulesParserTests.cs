using SafeHaven.Core.Rules;

namespace SafeHaven.Core.Tests.Rules;

public sealed class RulesParserTests
{
    internal const string DesignExample = """
        rules:
          - name: bus-lock-storm          # unique
            counter: bus-lock             # counter name as the probe publishes it
            threshold: 1000               # ε, events per second
            scope: machine                # core | machine | vm | hypervisor
            sustain: 1                    # consecutive samples above ε before it fires (default 1)
            cooldown: 30s                 # no second detection for the entity meanwhile
        """;

    [Fact]
    public void Design_example_with_a_known_counter_parses()
    {
        // 'bus-lock' is not a perf list name SafeHaven knows (see the unknown counter test); the
        // example otherwise parses as written.
        var set = RulesParser.Parse(DesignExample.Replace("bus-lock ", "cache-misses", StringComparison.Ordinal), "rules.yaml");

        var rule = Assert.Single(set.Rules);
        Assert.Equal(new Rule("bus-lock-storm", "cache-misses", 1000, Scopes.Machine, 1, TimeSpan.FromSeconds(30), 1000, 2), rule);
        Assert.Equal("rules.yaml", set.Source);
        Assert.Equal(["cache-misses"], set.Counters);
    }

    [Fact]
    public void Defaults_sustain_1_cooldown_30s_clearBelow_threshold()
    {
        var set = RulesParser.Parse("""
            rules:
              - name: cs
                counter: context-switches
                threshold: 2500.5
                scope: core
            """, "r.yaml");

        var rule = Assert.Single(set.Rules);
        Assert.Equal(1, rule.Sustain);
        Assert.Equal(TimeSpan.FromSeconds(30), rule.Cooldown);
        Assert.Equal(RulesParser.DefaultCooldown, rule.Cooldown);
        Assert.Equal(2500.5, rule.Threshold);
        Assert.Equal(2500.5, rule.ClearBelow);
        Assert.Equal(2, rule.Line);
    }

    [Fact]
    public void All_keys_several_rules_in_file_order_and_distinct_counters()
    {
        var set = RulesParser.Parse("""
            # leading comment
            rules:
              - name: a
                counter: raw:0x1A2B
                threshold: 1e3
                scope: vm
                sustain: 3
                cooldown: 500ms
                clearBelow: 250
              - name: b
                counter: tp:sched:sched_switch
                threshold: 10
                scope: hypervisor
                cooldown: 2m
              - name: c
                counter: raw:0x1A2B
                threshold: 5
                scope: core
            """, "r.yaml");

        Assert.Equal(["a", "b", "c"], set.Rules.Select(r => r.Name));
        Assert.Equal(new Rule("a", "raw:0x1A2B", 1000, Scopes.Vm, 3, TimeSpan.FromMilliseconds(500), 250, 3), set.Rules[0]);
        Assert.Equal(new Rule("b", "tp:sched:sched_switch", 10, Scopes.Hypervisor, 1, TimeSpan.FromMinutes(2), 10, 10), set.Rules[1]);
        Assert.Equal(15, set.Rules[2].Line);
        Assert.Equal(["raw:0x1A2B", "tp:sched:sched_switch"], set.Counters);
    }

    [Fact]
    public void ClearBelow_may_equal_the_threshold_or_zero()
    {
        var set = RulesParser.Parse("""
            rules:
              - {name: a, counter: cs, threshold: 10, scope: core, clearBelow: 10}
              - {name: b, counter: cs, threshold: 10, scope: core, clearBelow: 0}
            """, "r.yaml");

        Assert.Equal([10.0, 0.0], set.Rules.Select(r => r.ClearBelow));
    }

    [Fact]
    public void Load_reads_a_file_and_names_it()
    {
        var path = Path.Combine(Path.GetTempPath(), $"safehaven-rules-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "rules:\n  - {name: a, counter: cs, threshold: 10, scope: core}\n");
        try
        {
            var set = RulesParser.Load(path);
            Assert.Equal(path, set.Source);
            Assert.Equal("a", Assert.Single(set.Rules).Name);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_of_a_missing_file_is_a_rules_error()
    {
        var path = Path.Combine(Path.GetTempPath(), $"safehaven-missing-{Guid.NewGuid():N}.yaml");

        var e = Assert.Throws<RulesFormatException>(() => RulesParser.Load(path));

        Assert.Equal(path, e.File);
        Assert.StartsWith($"{path}:0: cannot read rules file", e.Message, StringComparison.Ordinal);
    }
}

public sealed class RulesParserDesignExampleTests
{
    [Fact]
    public void Design_example_verbatim_parses()
    {
        var rule = Assert.Single(RulesParser.Parse(RulesParserTests.DesignExample, "rules.yaml").Rules);

        Assert.Equal(new Rule("bus-lock-storm", "bus-lock", 1000, Scopes.Machine, 1, TimeSpan.FromSeconds(30), 1000, 2), rule);
    }
}
