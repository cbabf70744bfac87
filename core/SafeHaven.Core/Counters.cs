using System.Text.RegularExpressions;

namespace SafeHaven.Core;

/// <summary>
/// Counter names as probes publish them (docs/DESIGN.md §5): <c>perf list</c> names, <c>raw:0xNNNN</c>
/// for raw PMU events, <c>tp:subsystem:name</c> for tracepoints, <c>proc:field</c> for /proc.
/// </summary>
public static partial class Counters
{
    /// <summary>Generic hardware and software event names of <c>perf list</c> that SafeHaven knows.</summary>
    public static IReadOnlySet<string> PerfNames { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "cycles", "cpu-cycles", "instructions", "cache-references", "cache-misses",
        "branch-instructions", "branches", "branch-misses", "bus-cycles", "ref-cycles",
        "stalled-cycles-frontend", "stalled-cycles-backend",
        "context-switches", "cs", "cpu-migrations", "migrations", "page-faults", "faults",
        "minor-faults", "major-faults", "task-clock", "cpu-clock", "alignment-faults", "emulation-faults",
        // Named vendor events (bus and split locks), mapped to raw PMU events by the probe.
        "bus-lock", "split-lock",
    };

    /// <summary>/proc fields SafeHaven can turn into counters.</summary>
    public static IReadOnlySet<string> ProcFields { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "voluntary_ctxt_switches", "nonvoluntary_ctxt_switches", "minflt", "majflt", "utime", "stime",
    };

    [GeneratedRegex("^raw:0x[0-9a-fA-F]{1,16}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex Raw();

    [GeneratedRegex("^tp:[A-Za-z0-9_]{1,64}:[A-Za-z0-9_]{1,64}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex Tracepoint();

    /// <summary>True when <paramref name="name"/> is a counter name; otherwise <paramref name="error"/> says why.</summary>
    public static bool IsValid(string? name, out string error)
    {
        error = "";
        if (string.IsNullOrEmpty(name))
        {
            error = "counter name is empty";
            return false;
        }
        if (PerfNames.Contains(name) || Raw().IsMatch(name) || Tracepoint().IsMatch(name))
        {
            return true;
        }
        if (name.StartsWith("proc:", StringComparison.Ordinal) && ProcFields.Contains(name[5..]))
        {
            return true;
        }
        error = $"unknown counter '{name}' (expected a perf event such as context-switches or page-faults, " +
            $"raw:0xNNNN, tp:subsystem:name, or proc:FIELD with FIELD one of {string.Join(", ", ProcFields.Order(StringComparer.Ordinal))})";
        return false;
    }
}
