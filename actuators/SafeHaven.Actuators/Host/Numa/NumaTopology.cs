using System.Globalization;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Host.Numa;

/// <summary>The NUMA nodes of this machine and which of them the agent can hand out whole.</summary>
public static class NumaTopology
{
    /// <summary>Where sysfs lists the nodes.</summary>
    public const string DefaultRoot = "/sys/devices/system/node";

    /// <summary>Every online node with its CPUs (<c>nodeN/cpulist</c>); nodes without CPUs are left out.</summary>
    public static IReadOnlyDictionary<int, CpuList> Nodes(string root = DefaultRoot)
    {
        var nodes = new SortedDictionary<int, CpuList>();
        var online = Path.Join(root, "online");
        if (!File.Exists(online))
        {
            return nodes;
        }
        foreach (var node in CpuList.Parse(File.ReadAllText(online).Trim()).Cpus.Order())
        {
            var file = Path.Join(root, "node" + node.ToString(CultureInfo.InvariantCulture), "cpulist");
            if (File.Exists(file) && CpuList.TryParse(File.ReadAllText(file).Trim(), out var cpus, out _) && !cpus.IsEmpty)
            {
                nodes[node] = cpus;
            }
        }
        return nodes;
    }

    /// <summary>
    /// The NUMA level's support: at least two nodes, and nodes whose CPUs all lie in the isolation <paramref name="pool"/>
    /// (a node with a shared CPU would put the suspect beside the shared workloads). Returns those nodes.
    /// </summary>
    public static (LevelSupport Support, IReadOnlyDictionary<int, CpuList> Isolation) Probe(CpuList pool, string root = DefaultRoot)
    {
        ArgumentNullException.ThrowIfNull(pool);
        var online = Path.Join(root, "online");
        var nodes = Nodes(root);
        if (nodes.Count < 2)
        {
            var text = File.Exists(online) ? File.ReadAllText(online).Trim() : "absent";
            return (new(Levels.Numa, false, $"one NUMA node: {online} = {text}"), new Dictionary<int, CpuList>());
        }
        var whole = nodes.Where(n => n.Value.IsSubsetOf(pool)).ToDictionary(n => n.Key, n => n.Value);
        return whole.Count == 0
            ? (new(Levels.Numa, false, $"{nodes.Count} NUMA nodes, none with all its CPUs in the isolation pool {pool} ({InventoryAttributes.FormatNodes(nodes)})"), whole)
            : (new(Levels.Numa, true, $"{nodes.Count} NUMA nodes; handed out whole: {InventoryAttributes.FormatNodes(whole)}"), whole);
    }
}
