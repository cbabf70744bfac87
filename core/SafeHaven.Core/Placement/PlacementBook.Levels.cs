namespace SafeHaven.Core.Placement;

// Slots of the levels between core and machine (docs/DESIGN.md §2): a core-scheduling cookie per group (smt), a resctrl
// group with cache ways of its own (llc), a whole NUMA node (numa). Keyed by actuator like core slots: they live on one host.
public sealed partial class PlacementBook
{
    /// <summary>
    /// SMT level: the core-scheduling cookie of <paramref name="group"/> on <paramref name="actuator"/>'s host. A cookie costs
    /// no slot of a pool (siblings idle instead of running another cookie's tasks), so one is always available: the group's
    /// own when it holds one, else a fresh one.
    /// </summary>
    public Reservation ReserveSmt(ActuatorInfo actuator, string group)
    {
        ArgumentNullException.ThrowIfNull(actuator);
        ArgumentNullException.ThrowIfNull(group);
        var slot = $"{actuator.ActuatorId}#smt:{group}";
        return new Reservation(slot, actuator.ActuatorId, Levels.Smt, CpuList.Empty, group, Fresh: !_slots.ContainsKey(slot));
    }

    /// <summary>
    /// LLC level: the resctrl group (0 .. <see cref="ActuatorInfo.LlcSlots"/> − 1) of <paramref name="group"/> on the actuator,
    /// else the lowest free one; null when every one is held by another group.
    /// </summary>
    public Reservation? ReserveLlc(ActuatorInfo actuator, string group) =>
        ReserveIndexed(actuator, group, Levels.Llc, Enumerable.Range(0, Math.Max(0, actuator?.LlcSlots ?? 0)), _ => true);

    /// <summary>
    /// NUMA level: a whole node of the actuator's <see cref="ActuatorInfo.IsolationNodes"/> for <paramref name="group"/>: the
    /// one it holds, else the lowest node none of whose CPUs is a core slot held by another group; null when none is free.
    /// </summary>
    public Reservation? ReserveNode(ActuatorInfo actuator, string group)
    {
        ArgumentNullException.ThrowIfNull(actuator);
        return ReserveIndexed(actuator, group, Levels.Numa, actuator.IsolationNodes.Keys.Order(),
            node => actuator.IsolationNodes[node].Cpus.All(cpu => Holder(actuator.ActuatorId, cpu) is null || Holder(actuator.ActuatorId, cpu) == group));
    }

    /// <summary>The slot key of an indexed slot (an LLC group or a node) of an actuator.</summary>
    public static string IndexedSlot(string actuatorId, string level, int index) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{actuatorId}#{level}:{index}");

    private Reservation? ReserveIndexed(ActuatorInfo? actuator, string group, string level, IEnumerable<int> indexes, Func<int, bool> fits)
    {
        ArgumentNullException.ThrowIfNull(actuator);
        Reservation? free = null;
        foreach (var i in indexes)
        {
            var slot = IndexedSlot(actuator.ActuatorId, level, i);
            var cpus = level == Levels.Numa ? actuator.IsolationNodes[i] : CpuList.Empty;
            if (!_slots.TryGetValue(slot, out var held))
            {
                if (free is null && fits(i))
                {
                    free = new Reservation(slot, actuator.ActuatorId, level, cpus, group, Fresh: true);
                }
            }
            else if (held.group == group)
            {
                return new Reservation(slot, actuator.ActuatorId, level, cpus, group, Fresh: false);
            }
        }
        return free;
    }

    // The group holding the node of the actuator that contains cpu, or null.
    private string? NodeHolding(ActuatorInfo actuator, int cpu)
    {
        foreach (var (node, cpus) in actuator.IsolationNodes)
        {
            if (cpus.Contains(cpu) && _slots.TryGetValue(IndexedSlot(actuator.ActuatorId, Levels.Numa, node), out var held))
            {
                return held.group;
            }
        }
        return null;
    }
}
