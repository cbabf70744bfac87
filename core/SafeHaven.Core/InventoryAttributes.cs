namespace SafeHaven.Core;

/// <summary>Keys of <c>EntityState.attributes</c> that more than one role reads or writes.</summary>
public static class InventoryAttributes
{
    /// <summary>An actuator's host's network segment (a rack or subnet label), read by the planner's network scope.</summary>
    public const string NetworkSegment = "network.segment";

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
