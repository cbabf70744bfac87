using SafeHaven.Core.Rules;
using SafeHaven.Schemas;

namespace SafeHaven.Evaluation.Tests;

/// <summary>Builders of synthetic traces: one sample per process per 1 s window.</summary>
internal static class Samples
{
    public const string Host = "h1";
    public const long Second = 1_000_000_000L;
    public const long T0 = 1_700_000_000L * Second;

    public static CounterSample Of(int pid, long seq, long windowEndNs, long contextSwitches, string comm = "p", long intervalNs = Second) => new()
    {
        host = Host,
        entity = new EntityRef { datacenter = "dc1", host = Host, pid = pid, comm = comm },
        seq = seq,
        timestampNs = windowEndNs,
        intervalNs = intervalNs,
        values = new Dictionary<string, long>(StringComparer.Ordinal) { ["context-switches"] = contextSwitches },
    };

    /// <summary>Windows 1..<paramref name="windows"/> ending at T0 + i s, each process's count from <paramref name="count"/>(pid, i).</summary>
    public static List<CounterSample> Trace(int windows, int[] pids, Func<int, int, long> count)
    {
        var list = new List<CounterSample>();
        var seq = 0L;
        for (var i = 1; i <= windows; i++)
        {
            foreach (var pid in pids)
            {
                list.Add(Of(pid, seq++, T0 + (i * Second), count(pid, i)));
            }
        }
        return list;
    }

    public static RuleSet Rules(double threshold = 2000) => RulesParser.Parse(
        $"rules:\n  - name: storm\n    counter: context-switches\n    threshold: {threshold}\n    scope: core\n    cooldown: 30s\n", "test.yaml");

    public static TraceEvaluator Run(IEnumerable<CounterSample> trace, RuleSet? rules = null)
    {
        var evaluator = new TraceEvaluator(rules ?? Rules());
        foreach (var s in trace)
        {
            evaluator.Add(s);
        }
        return evaluator;
    }
}
