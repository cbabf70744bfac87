using SafeHaven.Actuators.Host.Llc;
using SafeHaven.Actuators.Host.Numa;
using SafeHaven.Actuators.Host.Smt;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Host;

/// <summary>
/// The levels between core and machine this host can execute (docs/DESIGN.md §2), each only where the machine has its
/// mechanism: SMT siblings (core scheduling), LLC ways and memory bandwidth (resctrl), whole NUMA nodes (cpuset mems).
/// The host agent announces exactly these, with what each hands out.
/// </summary>
public sealed class HostLevels
{
    internal HostLevels(IReadOnlyList<LevelSupport> support, SmtIsolator? smt, ResctrlGroups? llc, int llcSlots, NumaIsolator? numa,
        IReadOnlyDictionary<int, CpuList> nodes)
    {
        Support = support;
        Smt = smt;
        Llc = llc;
        LlcSlots = llc is null ? 0 : llcSlots;
        Numa = nodes.Count > 0 ? numa : null;
        Nodes = nodes;
    }

    /// <summary>No intermediate level (tests, hosts that opt out).</summary>
    public static HostLevels None { get; } = new([], null, null, 0, null, new Dictionary<int, CpuList>());

    /// <summary>Probes the three mechanisms on this machine.</summary>
    /// <param name="isolator">The core-level mover (the NUMA level moves the same cpusets).</param>
    /// <param name="pool">The isolation pool: only nodes whose CPUs all lie in it are handed out.</param>
    /// <param name="llcWaysPerGroup">LLC ways each isolated resctrl group gets.</param>
    public static HostLevels Detect(CoreIsolator isolator, CpuList pool, int llcWaysPerGroup = 2)
    {
        var smt = SchedCore.Probe();
        var (llc, info) = Resctrl.Probe(waysPerSlot: llcWaysPerGroup);
        var (numa, nodes) = NumaTopology.Probe(pool);
        return new([smt, llc, numa], smt.Available ? new SmtIsolator() : null, llc.Available && info is not null ? new ResctrlGroups(info) : null,
            info?.Layout.Slots ?? 0, numa.Available ? new NumaIsolator(isolator) : null, numa.Available ? nodes : new Dictionary<int, CpuList>());
    }

    /// <summary>What was found for each level, available or not, with the exact reason.</summary>
    public IReadOnlyList<LevelSupport> Support { get; }

    /// <summary>The SMT level's mover, or null when not here.</summary>
    public SmtIsolator? Smt { get; }

    /// <summary>The LLC level's groups, or null when not here.</summary>
    public ResctrlGroups? Llc { get; }

    /// <summary>How many LLC groups the agent hands out.</summary>
    public int LlcSlots { get; }

    /// <summary>The NUMA level's mover, or null when not here.</summary>
    public NumaIsolator? Numa { get; }

    /// <summary>The nodes the agent hands out whole.</summary>
    public IReadOnlyDictionary<int, CpuList> Nodes { get; }

    /// <summary>The levels to announce, cheapest first: core, and each intermediate level whose mechanism is here.</summary>
    public IReadOnlyList<string> Announced =>
        [.. Levels.OnHost.Where(l => l == Levels.Core || (l == Levels.Smt && Smt is not null) || (l == Levels.Llc && Llc is not null) || (l == Levels.Numa && Numa is not null))];

    /// <summary>Adds what the announced levels hand out to the agent's inventory attributes.</summary>
    public Dictionary<string, string> Describe(Dictionary<string, string> attributes)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        if (Llc is not null)
        {
            attributes[InventoryAttributes.LlcSlots] = LlcSlots.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        if (Numa is not null)
        {
            attributes[InventoryAttributes.NumaNodes] = InventoryAttributes.FormatNodes(Nodes);
        }
        return attributes;
    }

    /// <summary>Why <paramref name="level"/> cannot run here, or null when it can.</summary>
    public string? Refusal(string level) => Announced.Contains(level)
        ? null
        : Support.FirstOrDefault(s => s.Level == level) is { } s ? $"level {level} is not available on this host: {s.Reason}" : $"level '{level}' is not handled by the host actuator";
}
