using System.Globalization;
using SafeHaven.Core;

namespace SafeHaven.Probes.Inventory;

/// <summary>The CPU layout of the host, as sysfs reports it: what core-level isolation must respect.</summary>
/// <param name="OnlineCpus">Online CPUs (kernel list syntax), or null when unreadable.</param>
/// <param name="SmtSiblings">Each physical core's hardware threads (CPU lists), ordered by first CPU.</param>
/// <param name="NumaNodes">NUMA node number → its CPUs (CPU list).</param>
public sealed record HostTopology(string? OnlineCpus, IReadOnlyList<string> SmtSiblings, IReadOnlyDictionary<int, string> NumaNodes)
{
    /// <summary>Reads the topology under <paramref name="sysRoot"/> (<c>/sys</c>, or a copy in tests).</summary>
    public static HostTopology Read(string sysRoot = "/sys")
    {
        ArgumentNullException.ThrowIfNull(sysRoot);
        string cpuDir = Path.Combine(sysRoot, "devices", "system", "cpu");
        string? online = Normalise(TryRead(Path.Combine(cpuDir, "online")));
        // Distinct sibling groups, keyed by their lowest CPU so the order is stable.
        var groups = new SortedDictionary<int, string>();
        foreach (int cpu in Numbered(cpuDir, "cpu"))
        {
            string? text = TryRead(Path.Combine(cpuDir, "cpu" + Num(cpu), "topology", "thread_siblings_list"));
            if (text is not null && CpuList.TryParse(text, out var siblings, out _) && !siblings.IsEmpty)
            {
                groups.TryAdd(siblings.Cpus.First(), siblings.ToString());
            }
        }
        var nodes = new SortedDictionary<int, string>();
        string nodeDir = Path.Combine(sysRoot, "devices", "system", "node");
        foreach (int node in Numbered(nodeDir, "node"))
        {
            if (Normalise(TryRead(Path.Combine(nodeDir, "node" + Num(node), "cpulist"))) is { } cpus)
            {
                nodes[node] = cpus;
            }
        }
        return new HostTopology(online, [.. groups.Values], nodes);
    }

    // sysfs writes an empty line for a memory-only node: kept as "" so the node still shows.
    private static string? Normalise(string? text) =>
        text is not null && CpuList.TryParse(text, out var list, out _) ? list.ToString() : null;

    private static string Num(int n) => n.ToString(CultureInfo.InvariantCulture);

    private static List<int> Numbered(string dir, string prefix)
    {
        string[] entries;
        try
        {
            entries = Directory.GetDirectories(dir, prefix + "*");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
        var numbers = new List<int>();
        foreach (string entry in entries)
        {
            var name = Path.GetFileName(entry.AsSpan());
            if (int.TryParse(name[prefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out int n))
            {
                numbers.Add(n);
            }
        }
        numbers.Sort();
        return numbers;
    }

    private static string? TryRead(string path) => FileText.TryRead(path);
}
