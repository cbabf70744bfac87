using SafeHaven.Actuators.Agent;
using SafeHaven.Actuators.Host;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Core;
using SafeHaven.Schemas;
using SafeHaven.Security;

namespace SafeHaven.Actuators.Tests.Host;

/// <summary>With trusted planner keys, only commands signed by them execute; the others are rejected with the reason.</summary>
public sealed class HostActuatorSignatureTests : IDisposable
{
    private static readonly CpuList Online = CpuList.Parse("0-1");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));
    private readonly CgroupV1Cpuset _cpusets = new(parentName: Host.UniqueName());
    private readonly CommandSigner _planner;
    private readonly CommandVerifier _verifier;
    private readonly HostActuator _actuator;
    private BusyProcess? _process;

    public HostActuatorSignatureTests()
    {
        _planner = CommandSigner.Ephemeral(out var trusted);
        _verifier = trusted;
        var options = new HostActuatorOptions { Id = "host-a", IsolationCpus = Host.Cpu1, CgroupName = "unused" };
        _actuator = new HostActuator(options, new CoreIsolator(_cpusets), _time, Online, trusted);
    }

    private IsolationCommand Command(int pid, string id) => new()
    {
        commandId = id,
        entity = new EntityRef { datacenter = "local", host = "host-a", pid = pid },
        level = Levels.Core,
        action = Actions.Isolate,
        source = "host-a",
        target = "1",
        issuedAtNs = _time.NowNs(),
        deadlineNs = _time.NowNs() + 5_000_000_000,
        dryRun = false,
        reasons = [],
        signature = [],
    };

    [SkippableFact]
    public void Unsigned_forged_and_altered_commands_are_rejected_and_touch_nothing()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        _process = new BusyProcess(threads: 2);
        Assert.True(_actuator.Enrol(_process.Pid).Succeeded);
        using var stranger = CommandSigner.Ephemeral(out _);

        var unsigned = _actuator.Execute(Command(_process.Pid, "c-unsigned"));
        var forgedCmd = Command(_process.Pid, "c-forged");
        stranger.Sign(forgedCmd);
        var forged = _actuator.Execute(forgedCmd);
        var alteredCmd = Command(_process.Pid, "c-altered");
        _planner.Sign(alteredCmd);
        alteredCmd.entity.pid = 1; // retargeted after signing
        var altered = _actuator.Execute(alteredCmd);

        Assert.Equal((ResultStatus.Rejected, "unsigned command"), (unsigned.status, unsigned.error));
        Assert.Equal((ResultStatus.Rejected, $"command signed by untrusted key '{stranger.KeyId}'"), (forged.status, forged.error));
        Assert.Equal(ResultStatus.Rejected, altered.status);
        Assert.StartsWith("bad signature", altered.error, StringComparison.Ordinal);
        Host.AssertAllThreadsOn(_process.Pid, Host.Cpu0, minThreads: 2);
    }

    [SkippableFact]
    public void Signed_command_executes_once()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        _process = new BusyProcess(threads: 2);
        Assert.True(_actuator.Enrol(_process.Pid).Succeeded);
        var cmd = Command(_process.Pid, "c-good");
        _planner.Sign(cmd);

        var first = _actuator.Execute(cmd);
        var replay = _actuator.Execute(cmd);

        Assert.Equal(ResultStatus.Succeeded, first.status);
        Host.AssertAllThreadsOn(_process.Pid, Host.Cpu1, minThreads: 2);
        Assert.Equal((ResultStatus.Skipped, "duplicate command: already executed"), (replay.status, replay.error));
    }

    [SkippableFact]
    public void A_command_executed_before_a_restart_is_a_duplicate_after_it()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        _process = new BusyProcess(threads: 2);
        var state = Directory.CreateTempSubdirectory("safehaven-restart-");
        try
        {
            var options = new HostActuatorOptions { Id = "host-a", IsolationCpus = Host.Cpu1, CgroupName = "unused", StateDirectory = state.FullName };
            var cmd = Command(_process.Pid, "c-before-restart");
            _planner.Sign(cmd);
            using (var journal = CommandJournal.Open(options.JournalPath!))
            {
                var before = new HostActuator(options, new CoreIsolator(_cpusets), _time, Online, _verifier, journal);
                Assert.Equal(ResultStatus.Succeeded, before.Execute(cmd).status);
            }

            using var reopened = CommandJournal.Open(options.JournalPath!);
            var after = new HostActuator(options, new CoreIsolator(_cpusets), _time, Online, _verifier, reopened);
            var replay = after.Execute(cmd);

            Assert.Equal((ResultStatus.Skipped, "duplicate command: already executed"), (replay.status, replay.error));
        }
        finally
        {
            state.Delete(recursive: true);
        }
    }

    [SkippableFact]
    public void A_move_cut_short_by_a_crash_is_reconciled_from_proc_and_reported_once()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        _process = new BusyProcess(threads: 3);
        var state = Directory.CreateTempSubdirectory("safehaven-crash-");
        try
        {
            var options = new HostActuatorOptions { Id = "host-a", IsolationCpus = Host.Cpu1, CgroupName = "unused", StateDirectory = state.FullName };
            var moved = Command(_process.Pid, "c-moved-then-crashed");
            var unmoved = Command(_process.Pid, "c-crashed-before-move");
            unmoved.action = Actions.Release;
            _planner.Sign(moved);
            // The crash: both commands journalled as started, the first move done, no result published.
            using (var journal = CommandJournal.Open(options.JournalPath!))
            {
                journal.Started(moved);
                journal.Started(unmoved);
            }
            Assert.True(new CoreIsolator(_cpusets).Isolate(_process.Pid, Host.Cpu1).Succeeded);

            using var reopened = CommandJournal.Open(options.JournalPath!);
            var after = new HostActuator(options, new CoreIsolator(_cpusets), _time, Online, _verifier, reopened);
            var results = after.Reconcile().ToDictionary(r => r.commandId);

            Assert.Equal(ResultStatus.Succeeded, results[moved.commandId].status);
            Assert.Contains("reconciled after an agent restart", results[moved.commandId].error, StringComparison.Ordinal);
            Assert.Equal(Host.Cpu1.ToString(), results[moved.commandId].cpus);
            // The release never ran: the threads are still on the pool CPU, not the shared set.
            Assert.Equal(ResultStatus.Failed, results[unmoved.commandId].status);
            Assert.Contains($"allowed on {Host.Cpu1}", results[unmoved.commandId].error, StringComparison.Ordinal);
            foreach (var r in results.Values)
            {
                after.Published(r);
            }
            Assert.Empty(after.Reconcile());
            Assert.Equal(ResultStatus.Skipped, after.Execute(moved).status);
        }
        finally
        {
            state.Delete(recursive: true);
        }
    }

    public void Dispose()
    {
        _process?.Dispose();
        _planner.Dispose();
        if (Host.CanRun)
        {
            _cpusets.Cleanup();
        }
    }
}
