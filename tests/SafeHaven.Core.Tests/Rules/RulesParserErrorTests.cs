using SafeHaven.Core.Rules;

namespace SafeHaven.Core.Tests.Rules;

public sealed class RulesParserErrorTests
{
    private const string Header = "rules:\n  - name: r1\n    counter: context-switches\n";

    private static RulesFormatException Refused(string yaml)
    {
        var e = Assert.Throws<RulesFormatException>(() => RulesParser.Parse(yaml, "bad.yaml"));
        Assert.Equal("bad.yaml", e.File);
        Assert.Equal($"bad.yaml:{e.LineNumber}: {e.Problem}", e.Message);
        return e;
    }

    private static void AssertRefused(string yaml, int line, string problemPart)
    {
        var e = Refused(yaml);
        Assert.Contains(problemPart, e.Problem, StringComparison.Ordinal);
        Assert.Equal(line, e.LineNumber);
    }

    [Fact]
    public void Unknown_top_level_key() =>
        AssertRefused(Header + "    threshold: 5\n    scope: core\nrulez: []\n", 6, "unknown key 'rulez' (expected 'rules')");

    [Fact]
    public void Unknown_rule_key() =>
        AssertRefused(Header + "    threshold: 5\n    scope: core\n    treshold: 6\n", 6, "unknown key 'treshold'");

    [Theory]
    [InlineData("rules:\n  - counter: cs\n    threshold: 5\n    scope: core\n", "name")]
    [InlineData("rules:\n  - name: r1\n    threshold: 5\n    scope: core\n", "counter")]
    [InlineData("rules:\n  - name: r1\n    counter: cs\n    threshold: 5\n", "scope")]
    [InlineData("rules:\n  - name: \"\"\n    counter: cs\n    threshold: 5\n    scope: core\n", "name")]
    public void Missing_required_key_names_it_at_the_rule_line(string yaml, string key) =>
        AssertRefused(yaml, 2, $"rule is missing '{key}'");

    [Fact]
    public void Missing_threshold_names_it_at_the_rule_line() =>
        AssertRefused("rules:\n  - name: r1\n    counter: cs\n    scope: core\n", 2, "rule is missing 'threshold'");

    [Fact]
    public void Missing_key_in_the_second_rule_points_at_that_rule() =>
        AssertRefused(Header + "    threshold: 5\n    scope: core\n  - name: r2\n    counter: cs\n    threshold: 5\n", 6, "rule is missing 'scope'");

    [Theory]
    [InlineData("0", "threshold must be > 0 events/s")]
    [InlineData("-5", "threshold must be > 0 events/s")]
    [InlineData("lots", "threshold must be a number, got 'lots'")]
    [InlineData(".nan", "threshold must be a number")]
    [InlineData("NaN", "threshold must be a number")]
    [InlineData("Infinity", "threshold must be a number")]
    public void Bad_threshold(string value, string problem) =>
        AssertRefused(Header + $"    threshold: {value}\n    scope: core\n", 4, problem);

    [Fact]
    public void Unknown_scope() =>
        AssertRefused(Header + "    threshold: 5\n    scope: cache\n", 5, "unknown scope 'cache' (expected one of smt, core, llc, memory, machine, vm, hypervisor, network)");

    [Theory]
    [InlineData("0")]
    [InlineData("1.5")]
    [InlineData("-1")]
    [InlineData("three")]
    public void Bad_sustain(string value) =>
        AssertRefused(Header + $"    threshold: 5\n    scope: core\n    sustain: {value}\n", 6, $"sustain must be a whole number ≥ 1, got '{value}'");

    [Theory]
    [InlineData("30")]
    [InlineData("-1s")]
    [InlineData("soon")]
    public void Bad_cooldown(string value) =>
        AssertRefused(Header + $"    threshold: 5\n    scope: core\n    cooldown: {value}\n", 6, $"cooldown: '{value}' is not a duration");

    [Theory]
    [InlineData("6", "clearBelow must be between 0 and the threshold (5), got 6")]
    [InlineData("-1", "clearBelow must be between 0 and the threshold (5), got -1")]
    [InlineData("low", "clearBelow must be a number, got 'low'")]
    public void Bad_clearBelow(string value, string problem) =>
        AssertRefused(Header + $"    threshold: 5\n    scope: core\n    clearBelow: {value}\n", 6, problem);

    [Fact]
    public void Duplicate_names_point_at_the_second_and_name_the_first_line()
    {
        var yaml = Header + "    threshold: 5\n    scope: core\n  - name: r2\n    counter: cs\n    threshold: 5\n    scope: core\n" +
            "  - name: r1\n    counter: cs\n    threshold: 7\n    scope: vm\n";

        AssertRefused(yaml, 10, "duplicate rule name 'r1' (first at line 2)");
    }

    [Fact]
    public void Unknown_counter_points_at_the_counter_line()
    {
        var e = Refused("rules:\n  - name: r1\n    counter: bus-locks\n    threshold: 5\n    scope: core\n");
        Assert.Equal(3, e.LineNumber);
        Assert.Contains("unknown counter 'bus-locks'", e.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_rule_name_points_at_the_name_line() =>
        AssertRefused("rules:\n  - counter: cs\n    name: ../x\n    threshold: 5\n    scope: core\n", 3, "rule name '../x'");

    private const string TabOnLine3 = "rules:\n  - name: r1\n\tcounter: cs\n    threshold: 5\n    scope: core\n";

    [Fact]
    public void Tab_indentation_is_invalid_yaml()
    {
        var e = Refused(TabOnLine3);
        Assert.StartsWith("not valid YAML", e.Problem, StringComparison.Ordinal);
        Assert.Contains("tab", e.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Tab_indentation_error_points_at_the_tab_line() => Assert.Equal(3, Refused(TabOnLine3).LineNumber);

    [Fact]
    public void Bad_indentation_is_invalid_yaml()
    {
        var e = Refused("rules:\n  - name: r1\n    counter: cs\n   threshold: 5\n    scope: core\n");
        Assert.StartsWith("not valid YAML", e.Problem, StringComparison.Ordinal);
        Assert.Equal(4, e.LineNumber);
    }

    [Theory]
    [InlineData("")]
    [InlineData("# only a comment\n")]
    public void Empty_file(string yaml) => AssertRefused(yaml, 1, "expected a mapping with a 'rules' list");

    [Fact]
    public void Top_level_list_is_refused() => AssertRefused("- name: r1\n", 1, "expected a mapping with a 'rules' list");

    [Theory]
    [InlineData("rules: everything\n")]
    [InlineData("rules:\n  name: r1\n")]
    public void Rules_not_a_list(string yaml) => Assert.Contains("'rules' must be a list", Refused(yaml).Problem, StringComparison.Ordinal);

    [Fact]
    public void Rules_mapping_points_at_the_mapping() => AssertRefused("# x\nrules:\n  name: r1\n", 3, "'rules' must be a list");

    [Fact]
    public void Empty_rules_list() => AssertRefused("rules: []\n", 1, "'rules' must list at least one rule");

    [Fact]
    public void A_rule_that_is_not_a_mapping() => AssertRefused("rules:\n  - just-a-name\n", 2, "a rule must be a mapping");

    [Fact]
    public void A_rule_value_that_is_a_list() =>
        AssertRefused(Header + "    threshold: [1, 2]\n    scope: core\n", 4, "'threshold' must be a single value");

    [Fact]
    public void Nothing_is_half_applied_when_a_later_rule_is_bad() =>
        AssertRefused(Header + "    threshold: 5\n    scope: core\n  - name: r2\n    counter: cs\n    threshold: 0\n    scope: core\n", 8, "threshold must be > 0");
}
