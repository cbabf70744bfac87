using SafeHaven.Schemas;

namespace SafeHaven.Core.Placement;

/// <summary>
/// What on-demand isolation held, against what static isolation of every monitored group would hold, per level
/// (the original's premise: finer, on-demand isolation means better utilisation). Folds the ledger's records in order
/// (each is a slot's whole state after one event) and the inventory's entities. Pure: times come from the records.
/// </summary>
/// <remarks>
/// Units: the core level holds CPUs (a slot's <c>cpus</c>); the container and vm levels hold a whole target host or
/// hypervisor (machine scope: no other tenant there); the smt, llc and numa levels hold a core-scheduling cookie, a resctrl
/// group and a whole NUMA node per slot. Static isolation gives each monitored suspect group (container,
/// VM, tenant or process group, <see cref="SuspectGroups"/>) one exclusive core, and at the machine levels one
/// exclusive host (at the intermediate levels one unit of theirs), for the whole window: a lower bound of its cost.
/// </remarks>
public sealed class UtilisationAccount
{
    private readonly Dictionary<string, (long SinceNs, string Level, int Units)> _open = new(StringComparer.Ordinal);
    private readonly List<(long FromNs, long ToNs, string Level, int Units)> _held = [];
    private readonly HashSet<string> _groups = new(StringComparer.Ordinal);

    /// <summary>Earliest record time seen, or null.</summary>
    public long? FirstNs { get; private set; }

    /// <summary>Latest record time seen, or null.</summary>
    public long? LastNs { get; private set; }

    /// <summary>Folds one ledger record in (records of one slot in their topic order).</summary>
    public void OnSlot(SlotRecord r)
    {
        ArgumentNullException.ThrowIfNull(r);
        if (r.@event == LedgerEvents.Wait || r.slot.StartsWith("wait:", StringComparison.Ordinal)
            || r.slot.StartsWith(PlacementBook.ReceivePrefix, StringComparison.Ordinal))
        {
            return; // a waiting detection, or a given-back booking remembered for a late receive, holds no capacity
        }
        See(r.updatedAtNs);
        var held = r.group is not null && r.members.Count > 0;
        var isOpen = _open.TryGetValue(r.slot, out var open);
        if (held && !isOpen)
        {
            _open[r.slot] = (r.updatedAtNs, r.level, UnitsOf(r));
        }
        else if (!held && isOpen)
        {
            _held.Add((open.SinceNs, r.updatedAtNs, open.Level, open.Units));
            _open.Remove(r.slot);
        }
    }

    /// <summary>Folds one inventory record in: a process, container or VM is a monitored entity of its group.</summary>
    public void OnEntity(EntityState s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (s.kind is not ("process" or "container" or "vm"))
        {
            return;
        }
        See(s.updatedAtNs);
        var group = SuspectGroups.Of(s.entity, s.entityId, s.tenant, s.attributes?.TryGetValue(InventoryAttributes.Group, out var g) == true ? g : null);
        _groups.Add(group);
    }

    /// <summary>The account over [<paramref name="fromNs"/>, <paramref name="toNs"/>]; slots still held count up to its end.</summary>
    public UtilisationReport Report(long fromNs, long toNs)
    {
        if (toNs <= fromNs)
        {
            throw new ArgumentException($"empty window: {fromNs}..{toNs}", nameof(toNs));
        }
        var intervals = _held.Concat(_open.Values.Select(o => (FromNs: o.SinceNs, ToNs: toNs, o.Level, o.Units)))
            .Select(i => (FromNs: Math.Max(i.FromNs, fromNs), ToNs: Math.Min(i.ToNs, toNs), i.Level, i.Units))
            .Where(i => i.ToNs > i.FromNs)
            .ToList();
        var seconds = (toNs - fromNs) / 1e9;
        // The intermediate levels (smt, llc, numa) are listed only when the window used them: most hosts lack their mechanism.
        var levels = Levels.All.Where(l => l is Levels.Core or Levels.Container or Levels.Vm || intervals.Any(i => i.Level == l)).Select(level =>
        {
            var mine = intervals.Where(i => i.Level == level).ToList();
            return new LevelUtilisation(
                level,
                UnitName(level),
                Isolations: mine.Count,
                OnDemandUnitSeconds: mine.Sum(i => i.Units * (i.ToNs - i.FromNs) / 1e9),
                PeakUnits: Peak(mine),
                StaticUnits: _groups.Count,
                StaticUnitSeconds: _groups.Count * seconds);
        }).ToList();
        return new UtilisationReport(fromNs, toNs, _groups.Count, levels);
    }

    private static string UnitName(string level) => level switch
    {
        Levels.Core => "cpu",
        Levels.Smt => "cookie",
        Levels.Llc => "llc-group",
        Levels.Numa => "node",
        _ => "host",
    };

    private static int UnitsOf(SlotRecord r) =>
        r.level == Levels.Core && r.cpus is { Length: > 0 } cpus ? CpuList.Parse(cpus).Count : 1;

    private static int Peak(List<(long FromNs, long ToNs, string Level, int Units)> intervals)
    {
        var peak = 0;
        var now = 0;
        // Ends sort before starts at the same instant: a slot handed over is not counted twice.
        foreach (var (_, delta) in intervals.SelectMany(i => new[] { (At: i.FromNs, Delta: i.Units), (At: i.ToNs, Delta: -i.Units) })
                     .OrderBy(e => e.At).ThenBy(e => e.Delta))
        {
            now += delta;
            peak = Math.Max(peak, now);
        }
        return peak;
    }

    private void See(long ns)
    {
        FirstNs = FirstNs is { } f ? Math.Min(f, ns) : ns;
        LastNs = LastNs is { } l ? Math.Max(l, ns) : ns;
    }
}

/// <summary>One level's account: on-demand against static, in CPUs (core) or hosts (container, vm).</summary>
/// <param name="Level">core, container or vm.</param>
/// <param name="Unit">cpu or host.</param>
/// <param name="Isolations">Holds that overlapped the window.</param>
/// <param name="OnDemandUnitSeconds">Unit-seconds held by on-demand isolation within the window.</param>
/// <param name="PeakUnits">Most units held at once.</param>
/// <param name="StaticUnits">Units static isolation holds (one per monitored group).</param>
/// <param name="StaticUnitSeconds">Unit-seconds static isolation holds over the window.</param>
public sealed record LevelUtilisation(string Level, string Unit, int Isolations, double OnDemandUnitSeconds, int PeakUnits, int StaticUnits, double StaticUnitSeconds)
{
    /// <summary>On-demand as a fraction of static (0 when static holds nothing).</summary>
    public double Ratio => StaticUnitSeconds > 0 ? OnDemandUnitSeconds / StaticUnitSeconds : 0;
}

/// <summary>The account of a window.</summary>
/// <param name="FromNs">Window start, Unix ns.</param>
/// <param name="ToNs">Window end, Unix ns.</param>
/// <param name="MonitoredGroups">Suspect groups the inventory showed.</param>
/// <param name="Levels">Per level.</param>
public sealed record UtilisationReport(long FromNs, long ToNs, int MonitoredGroups, IReadOnlyList<LevelUtilisation> Levels);
