using SafeHaven.Actuators.Host.Cpu;

namespace SafeHaven.Actuators.Tests.Host.Cpu;

public sealed class CgroupV2CpusetTests : IDisposable
{
    private static readonly string? V2Root = FindV2Root();
    private readonly CgroupV2Cpuset? _cpusets = V2Root is null ? null : new CgroupV2Cpuset(V2Root, Host.UniqueName());
    private readonly List<BusyProcess> _processes = [];

    // Hybrid hosts mount the unified hierarchy at /sys/fs/cgroup/unified.
    private static string? FindV2Root() =>
        new[] { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" }.FirstOrDefault(r => CpusetDetector.HasV2Cpuset(r));

    [SkippableFact]
    public void Enrol_set_and_remove_on_the_unified_hierarchy()
    {
        Skip.If(_cpusets is null, "cgroup v2 has no cpuset controller on this host (cgroup.controllers lacks 'cpuset')");
        Skip.IfNot(Host.CanRun, "needs root and 2 CPUs");
        var p = new BusyProcess();
        _processes.Add(p);

        _cpusets!.Enrol(p.Pid, Host.Cpu0);
        Assert.Contains("cpuset", File.ReadAllText(Path.Join(_cpusets.ParentPath, "cgroup.subtree_control")), StringComparison.Ordinal);
        Host.AssertAllThreadsOn(p.Pid, Host.Cpu0, minThreads: 5);

        _cpusets.SetCpus(p.Pid, Host.Cpu1, exclusive: true);
        Host.AssertAllThreadsOn(p.Pid, Host.Cpu1, minThreads: 5);
        p.SpawnThread();
        Host.AssertAllThreadsOn(p.Pid, Host.Cpu1, minThreads: 6);

        _cpusets.SetCpus(p.Pid, Host.Cpu0);
        Host.AssertAllThreadsOn(p.Pid, Host.Cpu0, minThreads: 6);
        _cpusets.Remove(p.Pid);
        Assert.False(_cpusets.IsEnrolled(p.Pid));
    }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            p.Dispose();
        }
        _cpusets?.Cleanup();
    }
}
