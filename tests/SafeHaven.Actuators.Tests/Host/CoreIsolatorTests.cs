using SafeHaven.Actuators.Host;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Tests.Host;

public sealed class CoreIsolatorTests : IDisposable
{
    private readonly CgroupV1Cpuset _cpusets = new(parentName: Host.UniqueName());
    private readonly CoreIsolator _isolator;
    private readonly List<BusyProcess> _processes = [];

    public CoreIsolatorTests() => _isolator = new CoreIsolator(_cpusets);

    private BusyProcess Start(int threads = 4)
    {
        var p = new BusyProcess(threads);
        _processes.Add(p);
        return p;
    }

    [SkippableFact]
    public void Isolate_moves_every_thread_and_the_enrolled_neighbour_stays_shared()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        var suspect = Start();
        var neighbour = Start(threads: 2);
        Assert.True(_isolator.Enrol(neighbour.Pid, Host.Cpu0).Succeeded);

        var outcome = _isolator.Isolate(suspect.Pid, Host.Cpu1);
        Assert.True(outcome.Succeeded, outcome.Error);
        Assert.Equal(Host.Cpu1, outcome.Cpus);
        Assert.Equal(["affinity", "cpuset", "enrol", "verify"], outcome.PhasesNs.Keys.Order());
        Assert.All(outcome.PhasesNs.Values, ns => Assert.True(ns > 0));
        Host.AssertAllThreadsOn(suspect.Pid, Host.Cpu1, minThreads: 5);

        suspect.SpawnThread();
        Host.AssertAllThreadsOn(suspect.Pid, Host.Cpu1, minThreads: 6);
        Host.AssertAllThreadsOn(neighbour.Pid, Host.Cpu0, minThreads: 3);
    }

    [SkippableFact]
    public void Second_isolate_is_a_rewrite_and_release_returns_to_shared()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        var p = Start();
        Assert.True(_isolator.Enrol(p.Pid, Host.Cpu0).Succeeded);

        var isolated = _isolator.Isolate(p.Pid, Host.Cpu1);
        Assert.True(isolated.Succeeded, isolated.Error);
        Assert.DoesNotContain("enrol", isolated.PhasesNs.Keys);
        Assert.Equal(Host.Cpu1, _cpusets.ReadCpus(p.Pid));

        var released = _isolator.Release(p.Pid, Host.Cpu0);
        Assert.True(released.Succeeded, released.Error);
        Assert.Equal(Host.Cpu0, released.Cpus);
        Host.AssertAllThreadsOn(p.Pid, Host.Cpu0, minThreads: 5);
        Assert.Equal(Host.Cpu0, _cpusets.ReadCpus(p.Pid));
    }

    [SkippableFact]
    public void A_process_exiting_mid_move_gives_a_failed_outcome()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        var p = Start();
        var pid = p.Pid;
        _isolator.AfterPhase = phase =>
        {
            if (phase == "cpuset")
            {
                p.KillAndReap();
            }
        };

        var outcome = _isolator.Isolate(pid, Host.Cpu1);
        Assert.False(outcome.Succeeded);
        Assert.Equal($"process {pid} exited during the move", outcome.Error);
        Assert.Contains("cpuset", outcome.PhasesNs.Keys);
        Assert.Empty(Directory.EnumerateDirectories(_cpusets.ParentPath, $"w{pid}-*"));
    }

    [SkippableFact]
    public void A_process_that_is_gone_before_the_move_fails_without_touching_cgroups()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        var p = Start(threads: 1);
        var pid = p.Pid;
        p.KillAndReap();
        var outcome = _isolator.Isolate(pid, Host.Cpu1);
        Assert.False(outcome.Succeeded);
        Assert.Equal($"process {pid} not found", outcome.Error);
        Assert.Empty(outcome.PhasesNs);
    }

    [SkippableFact]
    public void Enrol_after_a_restart_leaves_an_isolated_process_on_its_pool_cpu()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        var p = Start();
        Assert.True(_isolator.Enrol(p.Pid, Host.Cpu0).Succeeded);
        Assert.True(_isolator.Isolate(p.Pid, Host.Cpu1).Succeeded);

        // A restarted actuator: new objects over the same cpuset parent, enrolling its workloads again.
        var restarted = new CoreIsolator(new CgroupV1Cpuset(parentName: Path.GetFileName(_cpusets.ParentPath)));
        var withPool = restarted.Enrol(p.Pid, Host.Cpu0, pool: Host.Cpu1);
        var poolDerived = restarted.Enrol(p.Pid, Host.Cpu0);

        foreach (var outcome in new[] { withPool, poolDerived })
        {
            Assert.True(outcome.Succeeded, outcome.Error);
            Assert.True(outcome.AlreadyIsolated);
            Assert.Equal(Host.Cpu1, outcome.Cpus);
            Assert.Equal("already isolated on CPUs 1", outcome.Summary);
            Assert.Equal(["check"], outcome.PhasesNs.Keys);
        }
        Assert.Equal(Host.Cpu1, _cpusets.ReadCpus(p.Pid));
        Host.AssertAllThreadsOn(p.Pid, Host.Cpu1, minThreads: 5);
    }

    [SkippableFact]
    public void Enrol_leaves_a_process_isolated_by_affinity_alone_where_it_is()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        var p = Start();
        Affinity.SetAllThreads(p.Pid, Host.Cpu1);

        var outcome = _isolator.Enrol(p.Pid, Host.Cpu0, pool: Host.Cpu1);

        Assert.True(outcome.AlreadyIsolated, outcome.Summary);
        Assert.Equal(Host.Cpu1, outcome.Cpus);
        Assert.False(_cpusets.IsEnrolled(p.Pid));
        Host.AssertAllThreadsOn(p.Pid, Host.Cpu1, minThreads: 5);
    }

    [SkippableFact]
    public void Enrol_moves_a_process_not_wholly_in_the_pool_to_the_shared_cpus()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        var free = Start();
        var partly = Start();
        // One thread on the pool CPU is not an isolation: the others still share CPU 0.
        Assert.True(Affinity.SetThread(partly.Pid, Host.Cpu1));

        foreach (var p in new[] { free, partly })
        {
            var outcome = _isolator.Enrol(p.Pid, Host.Cpu0, pool: Host.Cpu1);
            Assert.True(outcome.Succeeded, outcome.Error);
            Assert.False(outcome.AlreadyIsolated);
            Assert.Equal(Host.Cpu0, outcome.Cpus);
            Assert.Equal(["affinity", "check", "cpuset", "enrol", "verify"], outcome.PhasesNs.Keys.Order());
            Assert.Equal(Host.Cpu0, _cpusets.ReadCpus(p.Pid));
            Host.AssertAllThreadsOn(p.Pid, Host.Cpu0, minThreads: 5);
        }
    }

    [Fact]
    public void Invalid_pids_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => _isolator.Isolate(0, Host.Cpu1));
        Assert.Throws<ArgumentException>(() => _isolator.Release(-1, Host.Cpu0));
    }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            p.Dispose();
        }
        if (Host.CanRun)
        {
            _cpusets.Cleanup();
        }
    }
}
