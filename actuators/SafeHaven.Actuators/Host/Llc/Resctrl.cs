using System.Globalization;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Host.Llc;

/// <summary>What this machine offers of resctrl (Intel RDT CAT/MBA, AMD PQoS), read from its files.</summary>
/// <param name="Root">The resctrl mount.</param>
/// <param name="Layout">How the LLC ways are split.</param>
/// <param name="Domains">The L3 cache ids (the default group's schemata line).</param>
/// <param name="HasMb">True when memory bandwidth allocation is there (<c>info/MB</c>).</param>
public sealed record ResctrlInfo(string Root, ResctrlLayout Layout, IReadOnlyList<int> Domains, bool HasMb);

/// <summary>Finds resctrl and says exactly what is missing when it is not there.</summary>
public static class Resctrl
{
    // The CPU flags of cache allocation (Intel RDT; AMD reports the same two under PQoS).
    private static readonly string[] RequiredFlags = ["rdt_a", "cat_l3"];

    /// <summary>Where resctrl is mounted by convention.</summary>
    public const string DefaultRoot = "/sys/fs/resctrl";

    /// <summary>The LLC level's support here, and its layout when available.</summary>
    /// <param name="root">The resctrl mount.</param>
    /// <param name="waysPerSlot">Ways each isolated group gets.</param>
    /// <param name="filesystems">/proc/filesystems (tests pass a copy).</param>
    /// <param name="cpuinfo">/proc/cpuinfo (tests pass a copy).</param>
    public static (LevelSupport Support, ResctrlInfo? Info) Probe(string root = DefaultRoot, int waysPerSlot = 2,
        string filesystems = "/proc/filesystems", string cpuinfo = "/proc/cpuinfo")
    {
        var l3 = Path.Join(root, "info", "L3");
        if (!Directory.Exists(l3))
        {
            var flags = CpuFlags(cpuinfo);
            var missing = RequiredFlags.Where(f => !flags.Contains(f)).ToList();
            var cpu = missing.Count == 0 ? "CPU has rdt_a and cat_l3" : $"CPU lacks {string.Join("/", missing)} in {cpuinfo} flags";
            var fs = File.Exists(filesystems) && File.ReadAllText(filesystems).Split('\n').Any(l => l.EndsWith("\tresctrl", StringComparison.Ordinal))
                ? $"resctrl is in {filesystems} but not mounted (mount -t resctrl resctrl {root})"
                : $"kernel has no resctrl filesystem (not in {filesystems})";
            return (new(Levels.Llc, false, $"resctrl: no {Path.Join(root, "info")} ({fs}), {cpu}"), null);
        }
        try
        {
            var bits = ResctrlLayout.ParseHex(File.ReadAllText(Path.Join(l3, "cbm_mask"))) is { } mask ? System.Numerics.BitOperations.PopCount(mask) : 0;
            var min = int.Parse(File.ReadAllText(Path.Join(l3, "min_cbm_bits")).Trim(), NumberStyles.None, CultureInfo.InvariantCulture);
            var closids = int.Parse(File.ReadAllText(Path.Join(l3, "num_closids")).Trim(), NumberStyles.None, CultureInfo.InvariantCulture);
            var layout = new ResctrlLayout(bits, min, closids, waysPerSlot);
            var domains = ResctrlGroups.L3Line(File.ReadAllText(Path.Join(root, "schemata")))?.Keys.Order().ToList() ?? [];
            var info = new ResctrlInfo(root, layout, domains, Directory.Exists(Path.Join(root, "info", "MB")));
            if (layout.Slots == 0 || domains.Count == 0)
            {
                return (new(Levels.Llc, false, $"resctrl at {root}: {bits} ways, min {min}, {closids} CLOSIDs, {domains.Count} L3 domains: no group of {waysPerSlot} ways fits"), info);
            }
            return (new(Levels.Llc, true, $"resctrl at {root}: {layout.Slots} groups of {waysPerSlot} of {bits} ways{(info.HasMb ? ", MBA" : "")}"), info);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            return (new(Levels.Llc, false, $"resctrl at {root} unreadable: {e.Message}"), null);
        }
    }

    private static HashSet<string> CpuFlags(string cpuinfo)
    {
        if (!File.Exists(cpuinfo))
        {
            return [];
        }
        var line = File.ReadLines(cpuinfo).FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
        return line is null ? [] : [.. line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries)];
    }
}
