using System.Diagnostics;
using System.Globalization;
using SafeHaven.Actuators.Agent;
using SafeHaven.Actuators.Host.Cpu;

namespace SafeHaven.Actuators.Host.Llc;

/// <summary>
/// The LLC level: isolated group N is the resctrl group <c>ROOT/safehaven-llc-N</c> with ways of its own
/// (<see cref="ResctrlLayout.SlotMask"/>) in every L3 domain and, with MBA, a memory-bandwidth cap; the default group is
/// narrowed to the ways no isolated group takes, so nothing else shares the suspect's ways. Paths are joined only from the
/// validated root and names formatted from a slot number checked against the layout. Release moves the threads back to the
/// default group and removes the group once empty (its CLOSID is free again).
/// </summary>
/// <param name="info">What resctrl offers here.</param>
/// <param name="mbPercent">The isolated group's memory-bandwidth cap, percent (MBA only): the suspect cannot modulate the bus beyond it.</param>
public sealed class ResctrlGroups(ResctrlInfo info, int mbPercent = 20)
{
    /// <summary>Name prefix of SafeHaven's groups.</summary>
    public const string Prefix = "safehaven-llc-";

    private static readonly string[] Reserved = ["info", "mon_groups", "mon_data"];
    private readonly string _root = ValidRoot(info);

    /// <summary>The directory of isolated group <paramref name="slot"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The slot is not one of the layout's.</exception>
    public string GroupPath(int slot)
    {
        if (slot < 0 || slot >= info.Layout.Slots)
        {
            throw new ArgumentOutOfRangeException(nameof(slot), slot, $"LLC group {slot} does not exist here (0..{info.Layout.Slots - 1})");
        }
        return Path.Join(_root, Prefix + slot.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Puts every thread of <paramref name="pid"/> into isolated group <paramref name="slot"/> and verifies they are there.</summary>
    public CoreMoveOutcome Isolate(int pid, int slot)
    {
        var phases = new Dictionary<string, long>();
        var start = Stopwatch.GetTimestamp();
        try
        {
            var group = GroupPath(slot);
            var mask = info.Layout.SlotMask(slot);
            if (Foreign(mask) is { } clash)
            {
                return new CoreMoveOutcome(false, null, clash, phases);
            }
            phases["check"] = Results.StopwatchElapsedNs(start);
            start = Stopwatch.GetTimestamp();
            // The MB domains are read from the default group's schemata before it is narrowed.
            var schemata = Schemata(mask);
            NarrowDefault(mask);
            CgroupFile.MakeDirectory(group);
            CgroupFile.Write(Path.Join(group, "schemata"), schemata);
            phases["schemata"] = Results.StopwatchElapsedNs(start);
            start = Stopwatch.GetTimestamp();
            var tids = MoveThreads(pid, group);
            phases["tasks"] = Results.StopwatchElapsedNs(start);
            start = Stopwatch.GetTimestamp();
            var inGroup = CgroupFile.ReadIds(Path.Join(group, "tasks")).ToHashSet();
            var missing = tids.Where(t => !inGroup.Contains(t) && ProcFs.Default.IsLive(t)).ToList();
            phases["verify"] = Results.StopwatchElapsedNs(start);
            return missing.Count == 0
                ? new CoreMoveOutcome(true, null, null, phases)
                : new CoreMoveOutcome(false, null, $"threads {string.Join(",", missing)} of {pid} are not in {group}", phases);
        }
        catch (Exception e) when (e is CgroupException or ProcessGoneException or ArgumentOutOfRangeException)
        {
            return new CoreMoveOutcome(false, null, e.Message, phases);
        }
    }

    /// <summary>Moves every thread of <paramref name="pid"/> back to the default group; the last one out removes the group.</summary>
    public CoreMoveOutcome Release(int pid, int slot)
    {
        var phases = new Dictionary<string, long>();
        var start = Stopwatch.GetTimestamp();
        try
        {
            var group = GroupPath(slot);
            if (ProcFs.Default.Exists(pid))
            {
                MoveThreads(pid, _root);
            }
            if (Directory.Exists(group) && CgroupFile.ReadIds(Path.Join(group, "tasks")).Count == 0)
            {
                CgroupFile.RemoveDirectory(group);
            }
            phases["tasks"] = Results.StopwatchElapsedNs(start);
            return new CoreMoveOutcome(true, null, null, phases);
        }
        catch (Exception e) when (e is CgroupException or ArgumentOutOfRangeException)
        {
            return new CoreMoveOutcome(false, null, e.Message, phases);
        }
    }

    /// <summary>
    /// Reads resctrl's <c>tasks</c> files for every thread of <paramref name="pid"/> (after an agent restart): an isolation
    /// in group <paramref name="slot"/> holds when every live thread is listed in that group's tasks, a release when every
    /// live thread is back in the default group's.
    /// </summary>
    /// <exception cref="ProcessGoneException">The process does not exist.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The slot is not one of the layout's.</exception>
    public LevelReading Read(int pid, int slot, bool isolated)
    {
        var group = isolated ? GroupPath(slot) : _root;
        var tasks = Path.Join(group, "tasks");
        var tids = ProcFs.Default.ThreadIds(pid);
        if (!Directory.Exists(group))
        {
            return new LevelReading(false, $"resctrl group {group} does not exist");
        }
        HashSet<int> listed;
        try
        {
            listed = [.. CgroupFile.ReadIds(tasks)];
        }
        catch (CgroupException e)
        {
            return new LevelReading(false, e.Message);
        }
        var missing = tids.Where(t => !listed.Contains(t) && ProcFs.Default.IsLive(t)).ToList();
        return missing.Count == 0
            ? new LevelReading(true, $"all {tids.Count} threads of pid {pid} are in {tasks}")
            : new LevelReading(false, $"threads {string.Join(",", missing)} of pid {pid} are not in {tasks}");
    }

    /// <summary>The domain → mask pairs of a schemata's L3 line (<c>L3:0=ffff;1=ffff</c>), or null when it has none.</summary>
    public static Dictionary<int, ulong>? L3Line(string schemata)
    {
        ArgumentNullException.ThrowIfNull(schemata);
        var line = schemata.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("L3:", StringComparison.Ordinal));
        if (line is null)
        {
            return null;
        }
        var domains = new Dictionary<int, ulong>();
        foreach (var pair in line[3..].Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && int.TryParse(pair.AsSpan(0, eq).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var d)
                && ResctrlLayout.ParseHex(pair[(eq + 1)..]) is { } m)
            {
                domains[d] = m;
            }
        }
        return domains;
    }

    private string Schemata(ulong mask)
    {
        var l3 = "L3:" + string.Join(';', info.Domains.Select(d => string.Create(CultureInfo.InvariantCulture, $"{d}={ResctrlLayout.Hex(mask)}")));
        var mb = info.HasMb && MbDomains() is { Count: > 0 } ids
            ? "\nMB:" + string.Join(';', ids.Select(d => string.Create(CultureInfo.InvariantCulture, $"{d}={mbPercent}")))
            : "";
        return l3 + mb + "\n";
    }

    private List<int> MbDomains()
    {
        var line = CgroupFile.Read(Path.Join(_root, "schemata")).Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("MB:", StringComparison.Ordinal));
        return line is null ? [] : [.. line[3..].Split(';').Select(p => p.Split('=')[0].Trim())
            .Where(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out _)).Select(p => int.Parse(p, CultureInfo.InvariantCulture))];
    }

    // Another group (not ours, not the default) holding any of the slot's ways would share the cache with the suspect.
    private string? Foreign(ulong mask)
    {
        foreach (var dir in Directory.EnumerateDirectories(_root))
        {
            var name = Path.GetFileName(dir);
            if (Reserved.Contains(name) || name.StartsWith(Prefix, StringComparison.Ordinal) || !File.Exists(Path.Join(dir, "schemata")))
            {
                continue;
            }
            if (L3Line(CgroupFile.Read(Path.Join(dir, "schemata"))) is { } theirs && theirs.FirstOrDefault(d => (d.Value & mask) != 0) is { Value: not 0 } hit)
            {
                return $"resctrl group '{Core.Identifiers.Printable(name)}' uses ways {ResctrlLayout.Hex(hit.Value)} of L3 domain {hit.Key}, which overlap the isolated group's {ResctrlLayout.Hex(mask)}";
            }
        }
        return null;
    }

    private void NarrowDefault(ulong mask)
    {
        var path = Path.Join(_root, "schemata");
        if (L3Line(CgroupFile.Read(path)) is { } current && current.Values.Any(m => (m & mask) != 0))
        {
            var def = info.Layout.DefaultMask;
            CgroupFile.Write(path, "L3:" + string.Join(';', info.Domains.Select(d => string.Create(CultureInfo.InvariantCulture, $"{d}={ResctrlLayout.Hex(def)}"))) + "\n");
        }
    }

    // resctrl moves one thread per write of its id to tasks; a thread exiting meanwhile is fine.
    private static List<int> MoveThreads(int pid, string group)
    {
        var tasks = Path.Join(group, "tasks");
        var tids = ProcFs.Default.ThreadIds(pid);
        foreach (var tid in tids)
        {
            try
            {
                CgroupFile.Write(tasks, tid);
            }
            catch (CgroupException e) when (e.Errno == Errno.ESRCH)
            {
            }
        }
        return tids;
    }

    private static string ValidRoot(ResctrlInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        var root = info.Root.Length > 1 ? info.Root.TrimEnd('/') : info.Root;
        return Path.IsPathFullyQualified(root) && Path.GetFullPath(root) == root
            ? root
            : throw new ArgumentException($"resctrl root '{info.Root}' is not an absolute, normalised path", nameof(info));
    }
}
