using SafeHaven.Actuators.Host;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.Actuators.Tests.Host;

public sealed class HostActuatorTests : IDisposable
{
    private static readonly CpuList Online = CpuList.Parse("0-1");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));
    private readonly CgroupV1Cpuset _cpusets = new(parentName: Host.UniqueName());
    private readonly HostActuator _actuator;
    private readonly List<BusyProcess> _processes = [];
    private int _seq;

    public HostActuatorTests()
    {
        var options = new HostActuatorOptions { Id = "host-a", IsolationCpus = Host.Cpu1, CgroupName = "unused" };
        _actuator = new HostActuator(options, new CoreIsolator(_cpusets), _time, Online);
    }

    private BusyProcess Start(int threads = 4)
    {
        var p = new BusyProcess(threads);
        _processes.Add(p);
        return p;
    }

    private IsolationCommand Command(int? pid, string target = "1", string level = Levels.Core, string action = Actions.Isolate) => new()
    {
        commandId = $"cmd-{++_seq}",
        entity = new EntityRef { datacenter = "local", host = "host-a", pid = pid },
        level = level,
        action = action,
        source = "host-a",
        target = target,
        issuedAtNs = _time.NowNs(),
        deadlineNs = _time.NowNs() + 5_000_000_000,
        dryRun = false,
        reasons = [],
        signature = [],
    };

    [SkippableFact]
    public void Isolate_then_release_report_verified_cpus_phases_and_times()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        var p = Start();
        Assert.True(_actuator.Enrol(p.Pid).Succeeded);

        var cmd = Command(p.Pid);
        var result = _actuator.Execute(cmd);
        Assert.Equal(ResultStatus.Succeeded, result.status);
        Assert.Null(result.error);
        Assert.Equal(cmd.commandId, result.commandId);
        Assert.Equal(p.Pid, result.entity.pid);
        Assert.Equal(Levels.Core, result.level);
        Assert.Equal("host-a", result.actuator);
        Assert.Equal("1", result.cpus);
        Assert.Equal(_time.NowNs(), result.startedAtNs);
        Assert.Equal(_time.NowNs(), result.finishedAtNs);
        Assert.Superset(new HashSet<string> { "validate", "cpuset", "affinity", "verify" }, result.phases.Keys.ToHashSet());
        Host.AssertAllThreadsOn(p.Pid, Host.Cpu1, minThreads: 5);

        var release = _actuator.Execute(Command(p.Pid, target: "", action: Actions.Release));
        Assert.Equal(ResultStatus.Succeeded, release.status);
        Assert.Equal("0", release.cpus);
        Host.AssertAllThreadsOn(p.Pid, Host.Cpu0, minThreads: 5);
    }

    [Fact]
    public void Foreign_expired_and_malformed_commands_are_rejected()
    {
        var foreign = Command(Environment.ProcessId);
        foreign.source = "host-b";
        AssertVerdict(foreign, ResultStatus.Rejected, "foreign command");

        // Expired by the agent's own clock: issued with 5 s to live, read 5 s and 1 ms later.
        var expired = Command(Environment.ProcessId);
        _time.Advance(TimeSpan.FromMilliseconds(5_001));
        AssertVerdict(expired, ResultStatus.Rejected, "expired");

        AssertVerdict(Command(Environment.ProcessId, target: "0"), ResultStatus.Rejected, "outside the isolation pool");
        AssertVerdict(Command(Environment.ProcessId, target: "1;rm -rf /"), ResultStatus.Rejected, "is not a CPU list");
        AssertVerdict(Command(Environment.ProcessId, target: ""), ResultStatus.Rejected, "is not a CPU list");
        AssertVerdict(Command(Environment.ProcessId, level: "quantum"), ResultStatus.Rejected, "unknown level 'quantum'");
        AssertVerdict(Command(Environment.ProcessId, level: Levels.Vm), ResultStatus.Rejected, "level 'vm' is not handled");
        AssertVerdict(Command(Environment.ProcessId, action: "explode"), ResultStatus.Rejected, "unknown action 'explode'");
        AssertVerdict(Command(1), ResultStatus.Rejected, "pid 1 (init) is never moved");
        AssertVerdict(Command(Environment.ProcessId), ResultStatus.Rejected, "the agent's own process is never moved");
        AssertVerdict(Command(2), ResultStatus.Rejected, "pid 2 is a kernel thread");
        AssertVerdict(Command(0), ResultStatus.Rejected, "not a valid pid");
        AssertVerdict(Command(-42), ResultStatus.Rejected, "not a valid pid");
        AssertVerdict(Command(null), ResultStatus.Rejected, "not a valid pid");
        var badId = Command(Environment.ProcessId);
        badId.commandId = "../../etc";
        AssertVerdict(badId, ResultStatus.Rejected, "invalid command id");
    }

    [SkippableFact]
    public void Duplicate_command_is_skipped()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        var p = Start(threads: 1);
        var cmd = Command(p.Pid);
        Assert.Equal(ResultStatus.Succeeded, _actuator.Execute(cmd).status);
        AssertVerdict(cmd, ResultStatus.Skipped, "duplicate command");
    }

    [SkippableFact]
    public void Dry_run_checks_preconditions_and_touches_nothing()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        var enrolled = Start();
        var stranger = Start(threads: 1);
        Assert.True(_actuator.Enrol(enrolled.Pid).Succeeded);
        var strangerCpuset = File.ReadAllText($"/proc/{stranger.Pid}/cpuset");

        var dry = Command(enrolled.Pid);
        dry.dryRun = true;
        var result = AssertVerdict(dry, ResultStatus.Skipped, $"dry run: would move pid {enrolled.Pid} to cpus 1");
        Assert.True(result.dryRun);
        Assert.Equal(Host.Cpu0, _cpusets.ReadCpus(enrolled.Pid));
        Host.AssertAllThreadsOn(enrolled.Pid, Host.Cpu0, minThreads: 5);

        var dryStranger = Command(stranger.Pid);
        dryStranger.dryRun = true;
        AssertVerdict(dryStranger, ResultStatus.Skipped, "dry run");
        Assert.Equal(strangerCpuset, File.ReadAllText($"/proc/{stranger.Pid}/cpuset"));
        Assert.False(_cpusets.IsEnrolled(stranger.Pid));

        var gone = Start(threads: 1);
        var gonePid = gone.Pid;
        gone.KillAndReap();
        var dryGone = Command(gonePid);
        dryGone.dryRun = true;
        AssertVerdict(dryGone, ResultStatus.Failed, $"process {gonePid} not found");
    }

    [SkippableFact]
    public void A_slot_held_by_another_workload_and_a_reused_pid_are_rejected()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        var first = Start(threads: 1);
        var second = Start(threads: 1);
        Assert.Equal(ResultStatus.Succeeded, _actuator.Execute(Command(first.Pid)).status);
        AssertVerdict(Command(second.Pid), ResultStatus.Rejected, $"held by pid {first.Pid}");

        var reused = Command(second.Pid);
        reused.entity.startTime = ProcFs.Default.StartTime(second.Pid) + 1;
        AssertVerdict(reused, ResultStatus.Rejected, "belongs to another process");
    }

    [SkippableFact]
    public void After_a_restart_an_isolated_process_stays_and_its_cpu_is_refused_to_any_other_workload()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        var isolated = Start(threads: 2);
        var newcomer = Start(threads: 1);
        _actuator.Enrol(isolated.Pid);
        Assert.Equal(ResultStatus.Succeeded, _actuator.Execute(Command(isolated.Pid)).status);
        var options = new HostActuatorOptions { Id = "host-a", IsolationCpus = Host.Cpu1, CgroupName = "unused" };
        var restarted = new HostActuator(options, new CoreIsolator(_cpusets), _time, Online);

        var enrolled = restarted.Enrol(isolated.Pid);
        var command = Command(newcomer.Pid);
        command.group = "pgid:9@local/host-a";
        var refused = restarted.Execute(command);

        Assert.True(enrolled.AlreadyIsolated, enrolled.Summary);
        Assert.True(ThreadVerifier.Verify(isolated.Pid, Host.Cpu1).Ok, "the isolated process was moved off CPU 1");
        Assert.Equal((ResultStatus.Rejected, $"target cpus 1 are held by pid {isolated.Pid} of another group"), (refused.status, refused.error));
    }

    [SkippableFact]
    public void Members_of_one_group_share_a_pool_cpu_and_a_member_of_another_group_is_rejected()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        var sender = Start(threads: 1);
        var receiver = Start(threads: 1);
        var stranger = Start(threads: 1);
        var first = Command(sender.Pid);
        first.group = "pgid:7@local/host-a";
        var second = Command(receiver.Pid);
        second.group = "pgid:7@local/host-a";
        var third = Command(stranger.Pid);
        third.group = "pgid:8@local/host-a";

        Assert.Equal(ResultStatus.Succeeded, _actuator.Execute(first).status);
        Assert.Equal(ResultStatus.Succeeded, _actuator.Execute(second).status);
        AssertVerdict(third, ResultStatus.Rejected, $"held by pid {sender.Pid} of another group");
        Assert.Equal("1", Affinity.GetThread(receiver.Pid)?.ToString());
    }

    [Theory]
    [InlineData("2", "not online")]
    [InlineData("0-1", "no shared CPU")]
    [InlineData("", "is required")]
    public void Options_name_the_problem(string pool, string problem)
    {
        var options = new HostActuatorOptions { Id = "h", IsolationCpus = CpuList.Parse(pool) };
        var e = Assert.Throws<ArgumentException>(() => options.Validate(Online));
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bad id", "safehaven")]
    [InlineData("-x", "safehaven")]
    [InlineData("h", "../escape")]
    public void Options_reject_bad_ids_and_cgroup_names(string id, string cgroup)
    {
        var options = new HostActuatorOptions { Id = id, IsolationCpus = Host.Cpu1, CgroupName = cgroup };
        Assert.Throws<ArgumentException>(() => options.Validate(Online));
    }

    [Fact]
    public void Options_default_to_the_host_name_and_safehaven()
    {
        var options = new HostActuatorOptions { IsolationCpus = Host.Cpu1 };
        Assert.Equal(Environment.MachineName, options.Id);
        Assert.Equal("safehaven", options.CgroupName);
        Assert.Equal("SafeHaven:Actuator", HostActuatorOptions.SectionName);
        Assert.Equal(Host.Cpu0, options.SharedCpus(Online));
    }

    private IsolationResult AssertVerdict(IsolationCommand cmd, string status, string errorPart)
    {
        var result = _actuator.Execute(cmd);
        Assert.Equal(status, result.status);
        Assert.Contains(errorPart, result.error ?? "", StringComparison.Ordinal);
        Assert.Equal(cmd.commandId, result.commandId);
        Assert.Equal("host-a", result.actuator);
        return result;
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
