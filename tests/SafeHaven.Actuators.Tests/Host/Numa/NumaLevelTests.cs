using SafeHaven.Actuators.Host;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Actuators.Host.Numa;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Tests.Host.Numa;

/// <summary>The NUMA level: one node's CPUs and memory through the workload's cpuset, run for real on cgroup v1 with node 0.</summary>
public sealed class NumaLevelTests : IDisposable
{
    private readonly CgroupV1Cpuset _cpusets = new(parentName: Host.UniqueName());
    private readonly string _dir = Directory.CreateTempSubdirectory("sh-numa-").FullName;

    [Fact]
    public void The_probe_names_the_single_node_of_this_kind_of_machine()
    {
        File.WriteAllText(Path.Join(_dir, "online"), "0\n");
        Node(0, "0-1");
        var (s, nodes) = NumaTopology.Probe(CpuList.Parse("1"), _dir);
        Assert.False(s.Available);
        Assert.Equal($"one NUMA node: {Path.Join(_dir, "online")} = 0", s.Reason);
        Assert.Empty(nodes);
    }

    [Fact]
    public void Only_nodes_whose_cpus_all_lie_in_the_pool_are_handed_out()
    {
        File.WriteAllText(Path.Join(_dir, "online"), "0-2\n");
        Node(0, "0-3");
        Node(1, "4-7");
        Node(2, "8-11");
        var (s, nodes) = NumaTopology.Probe(CpuList.Parse("4-9"), _dir);
        Assert.True(s.Available, s.Reason);
        Assert.Equal([1], nodes.Keys);
        Assert.Equal("1:4-7", InventoryAttributes.FormatNodes(nodes));
        var (none, _) = NumaTopology.Probe(CpuList.Parse("3"), _dir);
        Assert.False(none.Available);
        Assert.Contains("none with all its CPUs in the isolation pool 3", none.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void This_machines_probe_says_why_numa_is_not_announced_or_which_nodes_are()
    {
        var (s, nodes) = NumaTopology.Probe(OnlineCpus.Read());
        Assert.Equal(s.Available, nodes.Count > 0);
        if (!s.Available)
        {
            Assert.StartsWith("one NUMA node: /sys/devices/system/node/online = ", s.Reason, StringComparison.Ordinal);
        }
    }

    [SkippableFact]
    public void Node_0_gets_the_workloads_cpus_and_memory_then_release_gives_the_parents_back()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        using var p = new BusyProcess(threads: 1);
        var isolator = new CoreIsolator(_cpusets);
        Assert.True(isolator.Enrol(p.Pid, Host.Cpu0, Host.Cpu1).Succeeded);
        var node0 = NumaTopology.Nodes()[0];
        var numa = new NumaIsolator(isolator);

        var outcome = numa.Isolate(p.Pid, 0, node0);

        Assert.True(outcome.Succeeded, outcome.Error);
        Assert.Equal(CpuList.Parse("0"), _cpusets.ReadMems(p.Pid));
        Assert.Equal(CpuList.Parse("0"), NumaIsolator.MemsAllowed(p.Pid));
        var child = Path.Join(_cpusets.ParentPath, $"w{p.Pid}-{ProcFs.Default.StartTime(p.Pid)}");
        Assert.Equal("1", File.ReadAllText(Path.Join(child, "cpuset.memory_migrate")).Trim());
        Assert.True(outcome.PhasesNs.ContainsKey("mems"));
        Host.AssertAllThreadsOn(p.Pid, node0, minThreads: 2);

        var released = numa.Release(p.Pid, Host.Cpu0);
        Assert.True(released.Succeeded, released.Error);
        Assert.Equal(CpuList.Parse(File.ReadAllText(Path.Join(_cpusets.ParentPath, "cpuset.mems")).Trim()), _cpusets.ReadMems(p.Pid));
        Host.AssertAllThreadsOn(p.Pid, Host.Cpu0, minThreads: 2);
    }

    [SkippableFact]
    public void A_node_without_memory_is_refused_by_the_kernel_and_the_error_names_its_errno()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        Skip.If(NumaTopology.Nodes().Count > 1, "this machine has a node 1: the refusal needs a node that does not exist");
        using var p = new BusyProcess(threads: 1);
        var isolator = new CoreIsolator(_cpusets);
        Assert.True(isolator.Enrol(p.Pid, Host.Cpu0, Host.Cpu1).Succeeded);

        var outcome = new NumaIsolator(isolator).Isolate(p.Pid, 1, Host.Cpu1);

        Assert.False(outcome.Succeeded);
        Assert.Contains("writing '1' to ", outcome.Error, StringComparison.Ordinal);
        Assert.Contains("cpuset.mems failed: EINVAL", outcome.Error, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void On_a_machine_with_nodes_to_hand_out_a_workload_moves_onto_one_with_its_memory()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        var online = OnlineCpus.Read();
        var (support, nodes) = NumaTopology.Probe(online);
        // Here: "one NUMA node: /sys/devices/system/node/online = 0".
        Skip.IfNot(support.Available, support.Reason);
        var (node, cpus) = nodes.OrderBy(n => n.Key).Last();
        var shared = CpuList.Of([.. online.Cpus.Where(c => !cpus.Contains(c))]);
        Skip.If(shared.IsEmpty, $"node {node} holds every online CPU ({online}): nothing left for the shared workloads");
        using var p = new BusyProcess(threads: 1);
        var isolator = new CoreIsolator(_cpusets);
        Assert.True(isolator.Enrol(p.Pid, shared, cpus).Succeeded);

        var outcome = new NumaIsolator(isolator).Isolate(p.Pid, node, cpus);

        Assert.True(outcome.Succeeded, outcome.Error);
        Assert.Equal(CpuList.Of([node]), NumaIsolator.MemsAllowed(p.Pid));
        Host.AssertAllThreadsOn(p.Pid, cpus, minThreads: 2);
    }

    private void Node(int node, string cpus)
    {
        Directory.CreateDirectory(Path.Join(_dir, $"node{node}"));
        File.WriteAllText(Path.Join(_dir, $"node{node}", "cpulist"), cpus + "\n");
    }

    public void Dispose()
    {
        _cpusets.Cleanup();
        Directory.Delete(_dir, recursive: true);
    }
}
