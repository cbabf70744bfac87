using SafeHaven.Core.Rules;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Tests;

/// <summary>Builders for the Avro records and rules the tests feed the library.</summary>
internal static class TestData
{
    public const string Dc = "dc1";
    public const string Host = "h1";
    public const long Second = 1_000_000_000L;

    public static EntityRef Process(int pid, string host = Host, string? container = null, string? vm = null) => new()
    {
        datacenter = Dc,
        host = host,
        pid = pid,
        container = container,
        vm = vm,
    };

    public static EntityRef Container(string container, string host = Host) => new()
    {
        datacenter = Dc,
        host = host,
        container = container,
    };

    public static EntityRef Vm(string vm, string host = Host) => new()
    {
        datacenter = Dc,
        host = host,
        vm = vm,
    };

    public static CounterSample Sample(EntityRef entity, long seq, long timestampNs, long intervalNs, params (string Counter, long Count)[] values) => new()
    {
        host = entity.host,
        entity = entity,
        seq = seq,
        timestampNs = timestampNs,
        intervalNs = intervalNs,
        values = values.ToDictionary(v => v.Counter, v => v.Count, StringComparer.Ordinal),
    };

    public static Rule Rule(
        string name = "r1",
        string counter = "context-switches",
        double threshold = 1000,
        string scope = Scopes.Core,
        int sustain = 1,
        TimeSpan? cooldown = null,
        double? clearBelow = null) =>
        new(name, counter, threshold, scope, sustain, cooldown ?? TimeSpan.FromSeconds(30), clearBelow ?? threshold);

    public static RuleSet RuleSet(params Rule[] rules) => new(rules, "test.yaml");
}
