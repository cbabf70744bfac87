using System.Globalization;
using System.Text.RegularExpressions;
using SafeHaven.Probes.Proc;
using SafeHaven.Core;

namespace SafeHaven.Probes.Perf;

/// <summary>
/// Resolves the counter names of docs/DESIGN.md §5 (<c>perf list</c> names, <c>raw:0xNNNN</c>,
/// <c>tp:subsystem:name</c>, <c>proc:field</c>) to what the kernel must be asked for.
/// </summary>
public static partial class CounterCatalog
{
    private static readonly Dictionary<string, ulong> Software = new(StringComparer.Ordinal)
    {
        ["cpu-clock"] = 0, ["task-clock"] = 1,
        ["page-faults"] = 2, ["faults"] = 2,
        ["context-switches"] = 3, ["cs"] = 3,
        ["cpu-migrations"] = 4, ["migrations"] = 4,
        ["minor-faults"] = 5, ["major-faults"] = 6,
        ["alignment-faults"] = 7, ["emulation-faults"] = 8,
    };

    private static readonly Dictionary<string, ulong> Hardware = new(StringComparer.Ordinal)
    {
        ["cycles"] = 0, ["cpu-cycles"] = 0, ["instructions"] = 1,
        ["cache-references"] = 2, ["cache-misses"] = 3,
        ["branch-instructions"] = 4, ["branches"] = 4, ["branch-misses"] = 5,
        ["bus-cycles"] = 6, ["stalled-cycles-frontend"] = 7, ["stalled-cycles-backend"] = 8,
        ["ref-cycles"] = 9,
    };

    /// <summary>
    /// Named vendor events, resolved to raw PMU events by CPU vendor. Bus locks are the memory-bus
    /// covert channel's mechanism (stress-ng --lockbus): Intel SQ_MISC.BUS_LOCK / SQ_MISC.SPLIT_LOCK
    /// (EventSel 0xF4, UMask 0x10 → raw 0x10f4, Skylake to Sapphire Rapids) and AMD Zen
    /// LS_LOCKS.BUS_LOCK (EventSel 0x25, UMask 0x01 → raw 0x0125). Check <c>perf list</c> on other
    /// models and use <c>raw:0xNNNN</c> where they differ.
    /// </summary>
    private static readonly Dictionary<string, (ulong Intel, ulong Amd)> Vendor = new(StringComparer.Ordinal)
    {
        ["bus-lock"] = (0x10f4, 0x0125),
        ["split-lock"] = (0x10f4, 0x0125),
    };

    /// <summary>tracefs mount points, newest first; the debugfs one serves kernels before 4.1.</summary>
    internal static readonly string[] DefaultTracingRoots = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

    [GeneratedRegex("^raw:0x([0-9A-Fa-f]{1,16})\\z", RegexOptions.CultureInvariant)]
    private static partial Regex RawName();

    // Tracepoint parts become path segments: an allow-list keeps '/', '..' and friends out.
    [GeneratedRegex("^tp:([A-Za-z0-9_]+):([A-Za-z0-9_]+)\\z", RegexOptions.CultureInvariant)]
    private static partial Regex TracepointName();

    /// <summary>All plain (non-parameterised) names this catalog knows, for help texts.</summary>
    public static IEnumerable<string> KnownNames =>
        Software.Keys.Concat(Hardware.Keys).Concat(Vendor.Keys).Concat(ProcCounters.Fields.Select(f => "proc:" + f));

    /// <summary>Resolves <paramref name="name"/>; on failure <paramref name="error"/> names the counter and why.</summary>
    public static bool TryResolve(string name, out PerfEventSpec spec, out string error) =>
        TryResolve(name, DefaultTracingRoots, out spec, out error);

    internal static bool TryResolve(string name, IReadOnlyList<string> tracingRoots, out PerfEventSpec spec, out string error)
    {
        spec = default;
        error = "";
        if (string.IsNullOrWhiteSpace(name))
        {
            error = "counter name is empty";
            return false;
        }
        if (Software.TryGetValue(name, out ulong config))
        {
            spec = new PerfEventSpec(name, CounterSource.Software, PerfNative.TypeSoftware, config);
            return true;
        }
        if (Hardware.TryGetValue(name, out config))
        {
            spec = new PerfEventSpec(name, CounterSource.Hardware, PerfNative.TypeHardware, config);
            return true;
        }
        if (Vendor.TryGetValue(name, out var codes))
        {
            var vendor = CpuVendor();
            if (vendor is null)
            {
                error = $"counter '{name}': no known raw event for this CPU vendor (Intel and AMD are mapped); use raw:0xNNNN";
                return false;
            }
            spec = new PerfEventSpec(name, CounterSource.Raw, PerfNative.TypeRaw, vendor == "GenuineIntel" ? codes.Intel : codes.Amd);
            return true;
        }
        if (name.StartsWith("raw:", StringComparison.Ordinal))
        {
            var m = RawName().Match(name);
            if (!m.Success)
            {
                error = $"counter '{Identifiers.Printable(name)}': raw events are written raw:0xNNNN (1 to 16 hex digits)";
                return false;
            }
            spec = new PerfEventSpec(name, CounterSource.Raw, PerfNative.TypeRaw,
                ulong.Parse(m.Groups[1].ValueSpan, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
            return true;
        }
        if (name.StartsWith("tp:", StringComparison.Ordinal))
        {
            return TryResolveTracepoint(name, tracingRoots, out spec, out error);
        }
        if (name.StartsWith("proc:", StringComparison.Ordinal))
        {
            string field = name["proc:".Length..];
            if (!ProcCounters.Fields.Contains(field))
            {
                error = $"counter '{Identifiers.Printable(name)}': unknown /proc field (known: {string.Join(", ", ProcCounters.Fields)})";
                return false;
            }
            spec = new PerfEventSpec(name, CounterSource.Proc, 0, 0, field);
            return true;
        }
        error = $"unknown counter '{Identifiers.Printable(name)}' (use a perf list name such as context-switches, raw:0xNNNN, tp:subsystem:name or proc:field)";
        return false;
    }

    private static string? CpuVendor()
    {
        var line = TryReadAll("/proc/cpuinfo")?.Split('\n').FirstOrDefault(l => l.StartsWith("vendor_id", StringComparison.Ordinal));
        var vendor = line?[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
        return vendor is "GenuineIntel" or "AuthenticAMD" ? vendor : null;
    }

    private static bool TryResolveTracepoint(string name, IReadOnlyList<string> roots, out PerfEventSpec spec, out string error)
    {
        spec = default;
        var m = TracepointName().Match(name);
        if (!m.Success)
        {
            error = $"counter '{Identifiers.Printable(name)}': tracepoints are written tp:subsystem:name with letters, digits and '_' only";
            return false;
        }
        string subsystem = m.Groups[1].Value, evt = m.Groups[2].Value;
        foreach (string root in roots)
        {
            string path = Path.Combine(root, "events", subsystem, evt, "id");
            string? text = TryReadAll(path);
            if (text is not null && ulong.TryParse(text.AsSpan().Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out ulong id))
            {
                spec = new PerfEventSpec(name, CounterSource.Tracepoint, PerfNative.TypeTracepoint, id);
                error = "";
                return true;
            }
        }
        bool mounted = roots.Any(r => File.Exists(Path.Combine(r, "events", "header_page")) || Directory.Exists(Path.Combine(r, "events")));
        error = mounted
            ? $"counter '{name}': no tracepoint {subsystem}:{evt} on this kernel (no events/{subsystem}/{evt}/id under {string.Join(" or ", roots)})"
            : $"counter '{name}': tracefs is not mounted at {string.Join(" or ", roots)} (mount -t tracefs nodev /sys/kernel/tracing)";
        return false;
    }

    private static string? TryReadAll(string path) => FileText.TryRead(path);
}
