using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Tests.Host.Cpu;

public sealed class AffinityTests : IDisposable
{
    private readonly List<BusyProcess> _processes = [];

    private BusyProcess Start(int threads = 4)
    {
        var p = new BusyProcess(threads);
        _processes.Add(p);
        return p;
    }

    [SkippableFact]
    public void SetAllThreads_reaches_every_thread_and_new_threads_inherit_it()
    {
        Skip.IfNot(Host.CanRun, "needs 2 CPUs");
        var p = Start();
        var result = Affinity.SetAllThreads(p.Pid, Host.Cpu1);
        Assert.True(result.Threads >= 5);
        Assert.True(result.Settled);
        Host.AssertAllThreadsOn(p.Pid, Host.Cpu1, minThreads: 5);
        p.SpawnThread();
        Host.AssertAllThreadsOn(p.Pid, Host.Cpu1, minThreads: 6);
        Assert.Equal(Host.Cpu1, Affinity.GetThread(p.Pid));
    }

    [SkippableFact]
    public void SetAllThreads_is_bounded_on_a_process_that_keeps_spawning_threads()
    {
        Skip.IfNot(Host.CanRun, "needs 2 CPUs");
        using var spawner = SpawningProcess.Start();
        // Unbounded, this call would not return while the process lives: every pass finds threads the previous one missed.
        var result = Affinity.SetAllThreads(spawner.Pid, Host.Cpu1);
        Assert.InRange(result.Passes, 1, Affinity.MaxPasses);
        Assert.True(result.Settled || result.Passes == Affinity.MaxPasses);
        Assert.True(spawner.IsRunning, "the spawner died: the test measured nothing");
    }

    [Fact]
    public void SetAllThreads_stops_after_MaxPasses_and_reports_the_unsettled_process()
    {
        // A thread list that grows at every look, as a process spawning faster than the passes run: deterministic.
        var next = 1_000;
        List<int> Growing(int _) => [.. Enumerable.Range(1_000, (next += 3) - 1_000)];
        var tried = new List<int>();
        var result = Affinity.SetAllThreads(4242, Host.Cpu0, Growing, (tid, _) => { tried.Add(tid); return true; });
        Assert.Equal(new AllThreadsResult(tried.Count, Affinity.MaxPasses, Settled: false), result);
        Assert.Equal(tried.Distinct().Count(), tried.Count); // each thread set once
        Assert.Equal(Affinity.MaxPasses + 1, (next - 1_000) / 3); // MaxPasses setting passes plus the last look
    }

    [SkippableFact]
    public void SetAllThreads_on_a_vanished_process_throws_ProcessGone()
    {
        Skip.IfNot(Host.CanRun, "needs 2 CPUs");
        var p = Start(threads: 1);
        var pid = p.Pid;
        p.KillAndReap();
        Assert.Throws<ProcessGoneException>(() => Affinity.SetAllThreads(pid, Host.Cpu0));
        Assert.Null(Affinity.GetThread(pid));
        Assert.False(Affinity.SetThread(pid, Host.Cpu0));
    }

    [SkippableFact]
    public void ThreadVerifier_names_the_first_offending_thread()
    {
        Skip.IfNot(Host.CanRun, "needs 2 CPUs");
        var p = Start(threads: 2);
        var both = CpuList.Parse("0-1");
        Affinity.SetAllThreads(p.Pid, both);
        Assert.True(ThreadVerifier.Verify(p.Pid, both).Ok);

        var odd = ProcFs.Default.ThreadIds(p.Pid).First(t => t != p.Pid);
        Affinity.SetThread(odd, Host.Cpu0);
        var check = ThreadVerifier.Verify(p.Pid, both);
        Assert.False(check.Ok);
        Assert.Equal(odd, check.Tid);
        Assert.Equal(Host.Cpu0, check.Actual);
    }

    [Fact]
    public void Invalid_tids_are_rejected_before_any_syscall()
    {
        Assert.Throws<ArgumentException>(() => Affinity.SetThread(0, Host.Cpu0));
        Assert.Throws<ArgumentException>(() => Affinity.SetAllThreads(-5, Host.Cpu0));
        Assert.Throws<ArgumentException>(() => ThreadVerifier.Verify(0, Host.Cpu0));
    }

    [Fact]
    public void OnlineCpus_reads_the_kernel_list()
    {
        Assert.Contains(0, OnlineCpus.Read().Cpus);
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "0-3,6\n");
            Assert.Equal(CpuList.Parse("0-3,6"), OnlineCpus.Read(file));
        }
        finally
        {
            File.Delete(file);
        }
    }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            p.Dispose();
        }
    }
}
