using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SafeHaven.Core.Rules;

/// <summary>
/// Loads rules YAML (docs/DESIGN.md §5) and validates everything up front, so a bad file is refused as a
/// whole with <c>file:line: problem</c> and never half-applied.
/// </summary>
public static class RulesParser
{
    /// <summary>Default cooldown when a rule gives none.</summary>
    public static readonly TimeSpan DefaultCooldown = TimeSpan.FromSeconds(30);

    private static readonly HashSet<string> RuleKeys =
        ["name", "counter", "threshold", "scope", "sustain", "cooldown", "clearBelow", "releaseAfter"];

    /// <summary>Reads and parses a rules file.</summary>
    /// <exception cref="RulesFormatException">The file is unreadable or invalid.</exception>
    public static RuleSet Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RulesFormatException(path, 0, $"cannot read rules file: {e.Message}");
        }
        return Parse(text, path);
    }

    /// <summary>Parses rules text; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="RulesFormatException">The text is not a valid rules document.</exception>
    public static RuleSet Parse(string text, string source)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new RulesFormatException(source, (int)e.End.Line, $"not valid YAML: {e.InnerException?.Message ?? e.Message}");
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new RulesFormatException(source, 1, "expected a mapping with a 'rules' list");
        }
        YamlSequenceNode? list = null;
        foreach (var (key, value) in root.Children)
        {
            var k = Scalar(source, key);
            if (k != "rules")
            {
                throw new RulesFormatException(source, Line(key), $"unknown key '{k}' (expected 'rules')");
            }
            list = value as YamlSequenceNode ?? throw new RulesFormatException(source, Line(value), "'rules' must be a list");
        }
        if (list is null || list.Children.Count == 0)
        {
            throw new RulesFormatException(source, Line(root), "no rules: 'rules' must list at least one rule");
        }
        var rules = new List<Rule>();
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var node in list.Children)
        {
            var rule = ParseRule(source, node);
            if (names.TryGetValue(rule.Name, out var first))
            {
                throw new RulesFormatException(source, rule.Line, $"duplicate rule name '{rule.Name}' (first at line {first})");
            }
            names[rule.Name] = rule.Line;
            rules.Add(rule);
        }
        return new RuleSet(rules, source);
    }

    private static Rule ParseRule(string source, YamlNode node)
    {
        if (node is not YamlMappingNode map)
        {
            throw new RulesFormatException(source, Line(node), "a rule must be a mapping of name, counter, threshold, scope, …");
        }
        var fields = new Dictionary<string, YamlScalarNode>(StringComparer.Ordinal);
        foreach (var (key, value) in map.Children)
        {
            var k = Scalar(source, key);
            if (!RuleKeys.Contains(k))
            {
                throw new RulesFormatException(source, Line(key), $"unknown key '{k}' (expected one of {string.Join(", ", RuleKeys)})");
            }
            fields[k] = value as YamlScalarNode ?? throw new RulesFormatException(source, Line(value), $"'{k}' must be a single value");
        }
        var line = Line(map);
        string Required(string key) => fields.TryGetValue(key, out var v) && !string.IsNullOrWhiteSpace(v.Value)
            ? v.Value!
            : throw new RulesFormatException(source, line, $"rule is missing '{key}'");

        var name = Required("name");
        if (!Identifiers.IsId(name))
        {
            throw new RulesFormatException(source, Line(fields["name"]), $"rule name '{name}' must be letters, digits, '.', '_', ':' or '-'");
        }
        var counter = Required("counter");
        if (!Counters.IsValid(counter, out var counterError))
        {
            throw new RulesFormatException(source, Line(fields["counter"]), counterError);
        }
        var thresholdText = Required("threshold");
        var threshold = Number(source, fields["threshold"], thresholdText, "threshold");
        if (threshold <= 0)
        {
            throw new RulesFormatException(source, Line(fields["threshold"]), $"threshold must be > 0 events/s, got {threshold}");
        }
        var scope = Required("scope");
        if (!Scopes.All.Contains(scope))
        {
            throw new RulesFormatException(source, Line(fields["scope"]), $"unknown scope '{scope}' (expected one of {string.Join(", ", Scopes.All)})");
        }
        var sustain = 1;
        if (fields.TryGetValue("sustain", out var s) &&
            (!int.TryParse(s.Value, NumberStyles.None, CultureInfo.InvariantCulture, out sustain) || sustain < 1))
        {
            throw new RulesFormatException(source, Line(s), $"sustain must be a whole number ≥ 1, got '{s.Value}'");
        }
        var cooldown = DefaultCooldown;
        if (fields.TryGetValue("cooldown", out var c) && !Durations.TryParse(c.Value, out cooldown, out var durationError))
        {
            throw new RulesFormatException(source, Line(c), $"cooldown: {durationError}");
        }
        var clearBelow = threshold;
        if (fields.TryGetValue("clearBelow", out var h))
        {
            clearBelow = Number(source, h, h.Value ?? "", "clearBelow");
            if (clearBelow < 0 || clearBelow > threshold)
            {
                throw new RulesFormatException(source, Line(h), $"clearBelow must be between 0 and the threshold ({threshold}), got {clearBelow}");
            }
        }
        TimeSpan? releaseAfter = null;
        if (fields.TryGetValue("releaseAfter", out var r))
        {
            if (!Durations.TryParse(r.Value, out var after, out var releaseError))
            {
                throw new RulesFormatException(source, Line(r), $"releaseAfter: {releaseError}");
            }
            if (after <= TimeSpan.Zero)
            {
                throw new RulesFormatException(source, Line(r), $"releaseAfter must be longer than 0, got '{r.Value}'");
            }
            releaseAfter = after;
        }
        return new Rule(name, counter, threshold, scope, sustain, cooldown, clearBelow, line, releaseAfter);
    }

    private static double Number(string source, YamlNode node, string text, string key) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)
            ? v
            : throw new RulesFormatException(source, Line(node), $"{key} must be a number, got '{text}'");

    private static string Scalar(string source, YamlNode node) =>
        (node as YamlScalarNode)?.Value ?? throw new RulesFormatException(source, Line(node), "keys must be plain words");

    private static int Line(YamlNode node) => (int)node.Start.Line;
}
