namespace SafeHaven.Core;

/// <summary>Keys of <c>EntityState.attributes</c> that more than one role reads or writes.</summary>
public static class InventoryAttributes
{
    /// <summary>An actuator's host's network segment (a rack or subnet label), read by the planner's network scope.</summary>
    public const string NetworkSegment = "network.segment";

    /// <summary>On an <see cref="InventoryKinds.Actuator"/> record: the agent id the planner addresses its commands to.</summary>
    public const string ActuatorId = "actuatorId";

    /// <summary>On a hypervisor agent's record: its free guest memory in MiB, for VM placement.</summary>
    public const string Capacity = "capacity";

    /// <summary>On a host agent's record: the cpuset controller it drives (cgroup-v1, cgroup-v2, ...).</summary>
    public const string Cpuset = "cpuset";

    /// <summary>On a <see cref="InventoryKinds.Vm"/> record: the guest's memory in MiB.</summary>
    public const string VmMemoryMiB = "vm.memoryMiB";

    /// <summary>
    /// On a process record no tenant or container claims: its suspect group, <c>pgid:</c> and its process group id.
    /// </summary>
    public const string Group = "group";

    /// <summary>LLC level: the number of resctrl groups with cache ways of their own that the agent hands out.</summary>
    public const string LlcSlots = "llc.slots";

    /// <summary>
    /// NUMA level: the nodes the agent hands out whole, with their CPUs, as <c>NODE:CPULIST</c> entries separated by
    /// <c>;</c> (e.g. <c>1:8-15,24-31;2:16-23</c>).
    /// </summary>
    public const string NumaNodes = "numa.nodes";

    /// <summary>Formats <see cref="NumaNodes"/>.</summary>
    public static string FormatNodes(IReadOnlyDictionary<int, CpuList> nodes)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        return string.Join(';', nodes.OrderBy(n => n.Key).Select(n => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{n.Key}:{n.Value}")));
    }

    /// <summary>Parses <see cref="NumaNodes"/>; null (with the reason) when any entry is malformed.</summary>
    public static IReadOnlyDictionary<int, CpuList>? ParseNodes(string text, out string error)
    {
        ArgumentNullException.ThrowIfNull(text);
        var nodes = new Dictionary<int, CpuList>();
        error = "";
        foreach (var entry in text.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = entry.IndexOf(':', StringComparison.Ordinal);
            if (colon < 1 || !int.TryParse(entry.AsSpan(0, colon), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var node)
                || node > 1023 || !CpuList.TryParse(entry[(colon + 1)..], out var cpus, out _) || cpus.IsEmpty || !nodes.TryAdd(node, cpus))
            {
                error = $"'{Identifiers.Printable(entry)}' is not NODE:CPULIST (a node 0..1023 once, a non-empty CPU list)";
                return null;
            }
        }
        return nodes;
    }
}
