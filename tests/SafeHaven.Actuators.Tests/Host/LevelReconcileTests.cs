using System.Globalization;
using SafeHaven.Actuators.Agent;
using SafeHaven.Actuators.Host;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Actuators.Host.Llc;
using SafeHaven.Actuators.Host.Numa;
using SafeHaven.Actuators.Host.Smt;
using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.Actuators.Tests.Host;

/// <summary>
/// An agent restarted in the middle of an smt, llc or numa move reports what the machine really shows: every thread's
/// core-scheduling cookie (an injected reader: this kernel has no core scheduling), resctrl's tasks files (a copy of the tree:
/// no resctrl here), the threads' CPUs and the memory nodes (the real cgroup v1 cpuset, node 0). The real-mechanism tests
/// of smt and llc skip with the probe's exact reason.
/// </summary>
public sealed class LevelReconcileTests : IDisposable
{
    private static readonly CpuList Online = CpuList.Parse("0-1");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 5, 5, 0, 0, TimeSpan.Zero));
    private readonly string _dir = Directory.CreateTempSubdirectory("sh-reconcile-").FullName;
    private readonly CgroupV1Cpuset _cpusets = new(parentName: Host.UniqueName());
    private int _seq;

    private static HostActuatorOptions Options => new() { Id = "host-a", IsolationCpus = Host.Cpu1, CgroupName = "unused" };

    private IsolationCommand Command(int pid, string level, string target, string action = Actions.Isolate) => new()
    {
        commandId = string.Create(CultureInfo.InvariantCulture, $"c-{level}-{action}-{++_seq}"),
        entity = new EntityRef { datacenter = "local", host = "host-a", pid = pid, startTime = ProcFs.Default.StartTime(pid) },
        level = level, action = action, source = "host-a", target = target, issuedAtNs = _time.NowNs(), deadlineNs = _time.NowNs() + 5_000_000_000,
        dryRun = false, reasons = [], signature = [], group = "g1",
    };

    // The crash: the commands were journalled as started and no result was published; a new agent reconciles them.
    private (HostActuator Agent, Dictionary<string, IsolationResult> Results) Restart(HostLevels levels, params IsolationCommand[] started)
    {
        var path = Path.Join(Directory.CreateTempSubdirectory("sh-journal-").FullName, "journal");
        using (var journal = CommandJournal.Open(path))
        {
            foreach (var c in started)
            {
                journal.Started(c);
            }
        }
        using var reopened = CommandJournal.Open(path);
        var agent = new HostActuator(Options, new CoreIsolator(_cpusets), _time, Online, journal: reopened, levels: levels);
        var results = agent.Reconcile().ToDictionary(r => r.commandId);
        Assert.Equal(started.Length, results.Count);
        Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        return (agent, results);
    }

    private static void AssertResult(IsolationResult r, string status, string error)
    {
        Assert.Equal(status, r.status);
        Assert.Equal(error, r.error);
        Assert.True(r.phases.ContainsKey("reconcile"));
    }

    private static HostLevels SmtLevels(ICookieReader cookies) =>
        new([new LevelSupport(Levels.Smt, true, "injected cookie reader")], new SmtIsolator(cookies), null, 0, null, new Dictionary<int, CpuList>());

    [Fact]
    public void An_smt_move_is_read_back_from_every_threads_cookie()
    {
        using var p = new BusyProcess(threads: 2);
        var tids = ProcFs.Default.ThreadIds(p.Pid);
        var isolate = Command(p.Pid, Levels.Smt, "cookie");
        var release = Command(p.Pid, Levels.Smt, "cookie", Actions.Release);

        // The isolation went through (every thread has the cookie), the release never ran.
        var (_, all) = Restart(SmtLevels(new FakeCookies(_ => 0x5a)), isolate, release);
        AssertResult(all[isolate.commandId], ResultStatus.Succeeded, $"reconciled after an agent restart: all {tids.Count} threads of pid {p.Pid} share core-scheduling cookie 5a");
        AssertResult(all[release.commandId], ResultStatus.Failed, $"agent restarted mid-move; thread {tids[0]} of pid {p.Pid} still has core-scheduling cookie 5a");

        // Killed part way: the last thread has no cookie.
        var (_, part) = Restart(SmtLevels(new FakeCookies(t => t == tids[^1] ? 0UL : 0x5a)), isolate);
        AssertResult(part[isolate.commandId], ResultStatus.Failed, $"agent restarted mid-move; thread {tids[^1]} of pid {p.Pid} has no core-scheduling cookie");

        // Two cookies in one process: not one group's.
        var (_, split) = Restart(SmtLevels(new FakeCookies(t => t == tids[^1] ? 0x7UL : 0x5a)), isolate);
        AssertResult(split[isolate.commandId], ResultStatus.Failed, $"agent restarted mid-move; thread {tids[^1]} of pid {p.Pid} has cookie 7, its other threads 5a");

        // The release went through.
        var (_, none) = Restart(SmtLevels(new FakeCookies(_ => 0)), release);
        AssertResult(none[release.commandId], ResultStatus.Succeeded, $"reconciled after an agent restart: none of the {tids.Count} threads of pid {p.Pid} has a core-scheduling cookie");

        // The kernel refuses the read: named, never taken as success.
        var (_, refused) = Restart(SmtLevels(new FakeCookies(_ => 0, errno: 22)), release);
        AssertResult(refused[release.commandId], ResultStatus.Failed, $"agent restarted mid-move; thread {tids[0]} of pid {p.Pid}: prctl(PR_SCHED_CORE, GET) = EINVAL");
    }

    [Fact]
    public void A_level_this_host_does_not_have_and_a_process_that_is_gone_are_failures_naming_why()
    {
        using var p = new BusyProcess(threads: 0);
        var pid = p.Pid;
        var smt = Command(pid, Levels.Smt, "cookie");
        var (_, missing) = Restart(HostLevels.None, smt);
        AssertResult(missing[smt.commandId], ResultStatus.Failed, "agent restarted mid-move; its state is not read back: level 'smt' is not handled by the host actuator");

        var llc = Command(pid, Levels.Llc, "1");
        p.KillAndReap();
        var (_, gone) = Restart(LlcLevels(), llc);
        AssertResult(gone[llc.commandId], ResultStatus.Failed, $"agent restarted mid-move; process {pid} is gone");
    }

    [Fact]
    public void An_llc_move_is_read_back_from_resctrls_tasks_files()
    {
        var levels = LlcLevels();
        using var p = new BusyProcess(threads: 1);
        var tids = ProcFs.Default.ThreadIds(p.Pid);
        var group = levels.Llc!.GroupPath(1);
        var isolate = Command(p.Pid, Levels.Llc, "1");
        var release = Command(p.Pid, Levels.Llc, "1", Actions.Release);
        var hostile = Command(p.Pid, Levels.Llc, "7");

        // Killed while writing the threads one by one: only the first is in the group.
        Directory.CreateDirectory(group);
        File.WriteAllText(Path.Join(group, "tasks"), $"{tids[0]}\n");
        var (_, part) = Restart(levels, isolate, hostile);
        AssertResult(part[isolate.commandId], ResultStatus.Failed, $"agent restarted mid-move; threads {string.Join(",", tids.Skip(1))} of pid {p.Pid} are not in {group}/tasks");
        // A target outside the layout never reaches a path.
        AssertResult(part[hostile.commandId], ResultStatus.Failed, "agent restarted mid-move; target '7' is not a llc slot of this host");

        File.WriteAllText(Path.Join(group, "tasks"), string.Join('\n', tids) + "\n");
        var (_, done) = Restart(levels, isolate, release);
        AssertResult(done[isolate.commandId], ResultStatus.Succeeded, $"reconciled after an agent restart: all {tids.Count} threads of pid {p.Pid} are in {group}/tasks");
        AssertResult(done[release.commandId], ResultStatus.Failed, $"agent restarted mid-move; threads {string.Join(",", tids)} of pid {p.Pid} are not in {_dir}/tasks");

        File.WriteAllText(Path.Join(_dir, "tasks"), string.Join('\n', tids) + "\n");
        var (_, released) = Restart(levels, release);
        AssertResult(released[release.commandId], ResultStatus.Succeeded, $"reconciled after an agent restart: all {tids.Count} threads of pid {p.Pid} are in {_dir}/tasks");
    }

    [SkippableFact]
    public void A_real_resctrl_group_is_read_back_after_a_restart()
    {
        var (support, info) = Resctrl.Probe();
        // Here: "resctrl: no /sys/fs/resctrl/info (kernel has no resctrl filesystem …), CPU lacks rdt_a/cat_l3 …".
        Skip.IfNot(support.Available, support.Reason);
        using var p = new BusyProcess(threads: 2);
        var groups = new ResctrlGroups(info!);
        var levels = new HostLevels([support], null, groups, info!.Layout.Slots, null, new Dictionary<int, CpuList>());
        var isolate = Command(p.Pid, Levels.Llc, "0");
        Assert.True(groups.Isolate(p.Pid, 0).Succeeded);
        try
        {
            var (_, results) = Restart(levels, isolate);
            Assert.Equal(ResultStatus.Succeeded, results[isolate.commandId].status);
        }
        finally
        {
            groups.Release(p.Pid, 0);
        }
    }

    [SkippableFact]
    public void A_real_core_scheduling_cookie_is_read_back_after_a_restart()
    {
        var support = SchedCore.Probe();
        // Here: "no SMT: /sys/devices/system/cpu/smt/active = 0".
        Skip.IfNot(support.Available, support.Reason);
        using var p = new BusyProcess(threads: 2);
        var smt = new SmtIsolator();
        Assert.True(smt.Isolate(p.Pid, "g1").Succeeded);
        var isolate = Command(p.Pid, Levels.Smt, "cookie");
        var release = Command(p.Pid, Levels.Smt, "cookie", Actions.Release);
        var (_, results) = Restart(new HostLevels([support], smt, null, 0, null, new Dictionary<int, CpuList>()), isolate, release);
        Assert.Equal(ResultStatus.Succeeded, results[isolate.commandId].status);
        Assert.Equal(ResultStatus.Failed, results[release.commandId].status);
    }

    [SkippableFact]
    public void A_numa_move_is_read_back_from_the_threads_cpus_and_the_memory_nodes_and_its_cpu_is_booked_again()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        using var p = new BusyProcess(threads: 2);
        var isolator = new CoreIsolator(_cpusets);
        Assert.True(isolator.Enrol(p.Pid, Host.Cpu0, Host.Cpu1).Succeeded);
        // Node 0 handed out as CPU 1 with memory node 0: the one node this machine has.
        var levels = new HostLevels([new LevelSupport(Levels.Numa, true, "node 0 as CPU 1")], null, null, 0, new NumaIsolator(isolator),
            new Dictionary<int, CpuList> { [0] = Host.Cpu1 });
        var isolate = Command(p.Pid, Levels.Numa, "0");
        var release = Command(p.Pid, Levels.Numa, "0", Actions.Release);
        // The move finished, then the agent died before publishing; the release never ran.
        Assert.True(levels.Numa!.Isolate(p.Pid, 0, Host.Cpu1).Succeeded);

        var (agent, results) = Restart(levels, isolate, release);

        AssertResult(results[isolate.commandId], ResultStatus.Succeeded,
            $"reconciled after an agent restart: all {ProcFs.Default.ThreadIds(p.Pid).Count} threads of pid {p.Pid} are on cpus 1 and memory nodes 0");
        Assert.Equal("1", results[isolate.commandId].cpus);
        Assert.StartsWith($"agent restarted mid-move; thread ", results[release.commandId].error, StringComparison.Ordinal);
        Assert.EndsWith($"of pid {p.Pid} is allowed on cpus 1, not 0", results[release.commandId].error, StringComparison.Ordinal);
        // The CPU it holds is refused to another group's workload, as before the restart.
        using var q = new BusyProcess(threads: 0);
        var other = Command(q.Pid, Levels.Core, "1");
        other.group = "g2";
        var refused = agent.Execute(other);
        Assert.Equal((ResultStatus.Rejected, $"target cpus 1 are held by pid {p.Pid} of another group"), (refused.status, refused.error));
    }

    [SkippableFact]
    public void On_a_machine_with_nodes_to_hand_out_a_numa_move_is_read_back_from_its_own_node()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        var (support, nodes) = NumaTopology.Probe(OnlineCpus.Read());
        // Here: "one NUMA node: /sys/devices/system/node/online = 0".
        Skip.IfNot(support.Available, support.Reason);
        var (node, cpus) = nodes.OrderBy(n => n.Key).Last();
        var shared = CpuList.Of([.. OnlineCpus.Read().Cpus.Where(c => !cpus.Contains(c))]);
        Skip.If(shared.IsEmpty, $"node {node} holds every online CPU: nothing left for the shared workloads");
        using var p = new BusyProcess(threads: 1);
        var isolator = new CoreIsolator(_cpusets);
        Assert.True(isolator.Enrol(p.Pid, shared, cpus).Succeeded);
        var numa = new NumaIsolator(isolator);
        Assert.True(numa.Isolate(p.Pid, node, cpus).Succeeded);
        var reading = numa.Read(p.Pid, node, cpus, isolated: true);
        Assert.True(reading.Holds, reading.Evidence);
        Assert.False(numa.Read(p.Pid, node, shared, isolated: false).Holds);
    }

    [Fact]
    public void The_numa_decision_names_the_threads_then_the_cpusets_nodes_then_the_kernels()
    {
        var ok = new ThreadCheck(true, null, null, 3);
        var node1 = CpuList.Parse("1");
        var node0 = CpuList.Parse("0");
        var cpus = CpuList.Parse("4-7");
        Assert.Equal(new LevelReading(false, "thread 12 of pid 10 is allowed on cpus 0-3, not 4-7"),
            NumaIsolator.Judge(10, new ThreadCheck(false, 12, CpuList.Parse("0-3"), 1), cpus, node1, node1, node1));
        // Killed between the cpuset's CPUs and its memory: the threads are there, the memory is not.
        Assert.Equal(new LevelReading(false, "the cpuset of pid 10 has memory nodes 0, not 1"), NumaIsolator.Judge(10, ok, cpus, node0, node0, node1));
        Assert.Equal(new LevelReading(false, "pid 10 is allowed memory nodes 0, not 1"), NumaIsolator.Judge(10, ok, cpus, node1, node0, node1));
        Assert.Equal(new LevelReading(false, "pid 10 is allowed memory nodes (unreadable), not 1"), NumaIsolator.Judge(10, ok, cpus, node1, null, node1));
        Assert.Equal(new LevelReading(false, "pid 10 has no cpuset of its own (not enrolled): its memory nodes are not 1"), NumaIsolator.Judge(10, ok, cpus, null, node1, node1));
        Assert.Equal(new LevelReading(true, "all 3 threads of pid 10 are on cpus 4-7 and memory nodes 1"), NumaIsolator.Judge(10, ok, cpus, node1, node1, node1));
    }

    // 8 ways, one L3 domain: two isolated groups of 2 ways; the tree is a copy in a temporary directory.
    private HostLevels LlcLevels()
    {
        Directory.CreateDirectory(Path.Join(_dir, "info", "L3"));
        File.WriteAllText(Path.Join(_dir, "info", "L3", "cbm_mask"), "ff\n");
        File.WriteAllText(Path.Join(_dir, "info", "L3", "min_cbm_bits"), "1\n");
        File.WriteAllText(Path.Join(_dir, "info", "L3", "num_closids"), "4\n");
        File.WriteAllText(Path.Join(_dir, "schemata"), "L3:0=ff\n");
        File.WriteAllText(Path.Join(_dir, "tasks"), "");
        var (support, info) = Resctrl.Probe(_dir);
        Assert.True(support.Available, support.Reason);
        return new HostLevels([support], null, new ResctrlGroups(info!), info!.Layout.Slots, null, new Dictionary<int, CpuList>());
    }

    private sealed class FakeCookies(Func<int, ulong> cookieOf, int errno = 0) : ICookieReader
    {
        public int Cookie(int tid, out ulong cookie)
        {
            cookie = errno == 0 ? cookieOf(tid) : 0;
            return errno;
        }
    }

    public void Dispose()
    {
        if (Host.CanRun)
        {
            _cpusets.Cleanup();
        }
        Directory.Delete(_dir, recursive: true);
    }
}
