using SafeHaven.Actuators.Agent;
using SafeHaven.Actuators.Vm;
using SafeHaven.Core;
using SafeHaven.Schemas;
using SafeHaven.Security;

namespace SafeHaven.Actuators.Tests.Vm;

/// <summary>
/// The QMP hypervisor agents: command checks without QEMU, and real 128 MB post-copy moves from agent A
/// (source, <c>isolate</c>) to agent B (target, <c>receive</c>), each agent preparing its own side.
/// </summary>
public sealed class VmActuatorTests : IDisposable
{
    private readonly VmSandbox _box = new();
    private readonly VmActuatorOptions _options;
    private readonly VmActuatorOptions _targetOptions;
    private readonly VmActuator _target;
    // The agents' clock in the command checks: commands are issued, and their deadlines read, on it.
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));
    private int _seq;

    // Real moves keep the system clock: it times their phases (QMP events, downtime), which a fake clock would zero.
    private static TimeProvider Wall => TimeProvider.System;

    public VmActuatorTests()
    {
        _options = new VmActuatorOptions { Id = "hv-a", Agents = { ["hv-a"] = _box.A, ["hv-b"] = _box.B }, PrepareTimeout = TimeSpan.FromSeconds(15) };
        _targetOptions = new VmActuatorOptions
        {
            Id = "hv-b", Agents = { ["hv-a"] = _box.A, ["hv-b"] = _box.B }, PrepareTimeout = TimeSpan.FromSeconds(15), StopReceivedGuestsOnDispose = true,
        };
        _target = new VmActuator(_targetOptions);
        Directory.CreateDirectory(_box.A);
    }

    private static IsolationCommand ReceiveOf(IsolationCommand move)
    {
        var r = Copy(move);
        r.commandId = move.commandId + Actions.ReceiveIdSuffix;
        r.action = Actions.Receive;
        return r;
    }

    private static IsolationCommand Copy(IsolationCommand c) => new()
    {
        commandId = c.commandId, entity = c.entity, level = c.level, action = c.action, source = c.source, target = c.target,
        issuedAtNs = c.issuedAtNs, deadlineNs = c.deadlineNs, dryRun = c.dryRun, reasons = c.reasons, signature = c.signature,
    };

    private IsolationCommand Command(string vm = "guest-1", string target = "hv-b", TimeProvider? clock = null)
    {
        var now = (clock ?? _time).NowNs();
        return new()
        {
            commandId = $"vm-cmd-{++_seq}", entity = new EntityRef { datacenter = "local", host = "h", vm = vm },
            level = Levels.Vm, action = Actions.Isolate, source = "hv-a", target = target,
            issuedAtNs = now, deadlineNs = now + 60_000_000_000, dryRun = false, reasons = [], signature = [],
        };
    }

    private async Task<IsolationResult> Run(IsolationCommand cmd, CommandVerifier? verifier = null, TimeProvider? clock = null)
    {
        using var agent = new VmActuator(_options, clock ?? _time, verifier: verifier);
        return await agent.ExecuteAsync(cmd);
    }

    [Fact]
    public async Task Foreign_expired_malformed_and_unsigned_commands_are_rejected_and_nothing_starts()
    {
        var foreign = Command();
        foreign.source = "hv-b";
        var badVm = Command(vm: "../etc,x");
        var self = Command(target: "hv-a");
        var unknown = Command(target: "hv-z");
        var core = Command();
        core.level = Levels.Core;
        // Expired by the agent's own clock: issued with 60 s to live, read 60 s and 1 ms later.
        var expired = Command();
        foreach (var (cmd, why, age) in new[]
        {
            (foreign, "foreign", 0), (badVm, "not a valid VM name", 0), (self, "not another", 0), (unknown, "not another", 0), (core, "level", 0),
            (expired, "expired", 60_001),
        })
        {
            _time.Advance(TimeSpan.FromMilliseconds(age));
            var result = await Run(cmd);
            Assert.Equal(ResultStatus.Rejected, result.status);
            Assert.Contains(why, result.error, StringComparison.Ordinal);
            Assert.True(result.phases.ContainsKey("validate"));
        }
        _ = CommandSigner.Ephemeral(out var verifier);
        Assert.Equal("unsigned command", (await Run(Command(), verifier)).error);
    }

    [Fact]
    public async Task Unknown_guest_fails_and_dry_run_and_duplicates_do_nothing()
    {
        var missing = await Run(Command(vm: "nope"));
        Assert.Equal(ResultStatus.Failed, missing.status);
        Assert.Contains("not a guest of agent 'hv-a'", missing.error, StringComparison.Ordinal);

        new QemuGuestSpec { Name = "guest-1", Kernel = "/boot/k", Initrd = "/boot/i" }.Save(_box.A);
        var dry = Command();
        dry.dryRun = true;
        var dryResult = await Run(dry);
        Assert.Equal(ResultStatus.Skipped, dryResult.status);
        Assert.Contains("would migrate vm 'guest-1'", dryResult.error, StringComparison.Ordinal);

        // No QMP socket: the move fails before it starts, once; the redelivery is a duplicate.
        using var agent = new VmActuator(_options, _time);
        var cmd = Command();
        var first = await agent.ExecuteAsync(cmd);
        Assert.Equal(ResultStatus.Failed, first.status);
        Assert.Contains("guest at source", first.error, StringComparison.Ordinal);
        var again = await agent.ExecuteAsync(cmd);
        Assert.Equal(ResultStatus.Skipped, again.status);
        Assert.Contains("duplicate", again.error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_receive_command_is_for_the_target_agent_and_names_a_known_source()
    {
        new QemuGuestSpec { Name = "guest-1", Kernel = "/boot/k", Initrd = "/boot/i" }.Save(_box.A);
        var atSource = ReceiveOf(Command());
        using var source = new VmActuator(_options, _time);
        using var target = new VmActuator(_targetOptions, _time);
        var foreign = await source.ExecuteAsync(atSource);
        Assert.Equal(ResultStatus.Rejected, foreign.status);
        Assert.Contains("foreign command: target 'hv-b'", foreign.error, StringComparison.Ordinal);

        var unknownSource = ReceiveOf(Command());
        unknownSource.source = "hv-z";
        Assert.Contains("source 'hv-z' is not another known", (await target.ExecuteAsync(unknownSource)).error, StringComparison.Ordinal);

        var dry = ReceiveOf(Command());
        dry.dryRun = true;
        var dryResult = await target.ExecuteAsync(dry);
        Assert.Equal(ResultStatus.Skipped, dryResult.status);
        Assert.Contains("would start an incoming twin of vm 'guest-1'", dryResult.error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Join(_box.B, "guest-1" + QemuGuest.PeerSuffix)), "a dry run starts no QEMU");
    }

    [SkippableFact]
    public async Task A_source_whose_target_never_prepares_fails_and_the_guest_keeps_running_at_the_source()
    {
        Skip.If(GuestImage.Problem is not null, GuestImage.Problem);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var src = _box.Track(QemuGuest.Start(GuestImage.Spec("guest-1", 128), _box.A));
        var beat = await SerialHeartbeat.WaitBeyondAsync(src.SerialPath, null, deadline.Token);
        var options = new VmActuatorOptions { Id = "hv-a", Agents = { ["hv-a"] = _box.A, ["hv-b"] = _box.B }, PrepareTimeout = TimeSpan.FromSeconds(1) };
        using var source = new VmActuator(options);

        var result = await source.ExecuteAsync(Command(clock: Wall), deadline.Token);

        Assert.Equal(ResultStatus.Failed, result.status);
        Assert.Contains("prepared no incoming side", result.error, StringComparison.Ordinal);
        Assert.Contains("guest at source", result.error, StringComparison.Ordinal);
        Assert.False(src.HasExited);
        Assert.NotNull(await SerialHeartbeat.WaitBeyondAsync(src.SerialPath, beat, deadline.Token));
    }

    [SkippableFact]
    public async Task A_beating_128MB_guest_moves_post_copy_to_agent_b_and_keeps_beating_there()
    {
        Skip.If(GuestImage.Problem is not null, GuestImage.Problem);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        var ct = deadline.Token;
        var src = _box.Track(QemuGuest.Start(GuestImage.Spec("guest-1", 128), _box.A));
        var beat = await SerialHeartbeat.WaitBeyondAsync(src.SerialPath, null, ct);
        var sourceBeat = await SerialHeartbeat.WaitBeyondAsync(src.SerialPath, beat, ct);
        Assert.True(sourceBeat > beat, $"the guest must beat at the source first: {src.StandardError}");

        // The source's command first: it waits for the target agent, whose command comes later.
        var move = Command(clock: Wall);
        var moving = Run(move, clock: Wall);
        var received = await _target.ExecuteAsync(ReceiveOf(move), ct);
        var result = await moving;

        Assert.True(result.status == ResultStatus.Succeeded, result.error);
        Assert.Superset(new HashSet<string> { "validate", "prepare", "setup", "precopy", "switchover", "postcopy", "verify", "total" }, result.phases.Keys.ToHashSet());
        Assert.True(result.downtimeNs is > 0 && result.downtimeNs < result.phases["total"], $"downtime {result.downtimeNs}");
        Assert.True(result.bytesTransferred > 1_000_000, $"bytes {result.bytesTransferred}");
        Assert.True(received.status == ResultStatus.Succeeded, received.error);
        Assert.Superset(new HashSet<string> { "validate", "prepare", "wait", "incoming", "postcopy", "verify", "total" }, received.phases.Keys.ToHashSet());
        await src.WaitForExitAsync(ct);
        var moved = Assert.Single(_target.Received);
        Assert.False(moved.HasExited);
        var destSerial = Path.Join(_box.B, "guest-1.serial");
        var onDest = await SerialHeartbeat.WaitBeyondAsync(destSerial, null, ct);
        var later = await SerialHeartbeat.WaitBeyondAsync(destSerial, onDest, ct);
        Assert.True(onDest >= sourceBeat && later > onDest, $"destination beats {onDest}, {later} after source {sourceBeat}");
    }

    [SkippableFact]
    public async Task A_target_whose_check_fails_after_resume_keeps_the_guest_it_runs()
    {
        Skip.If(GuestImage.Problem is not null, GuestImage.Problem);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        var src = _box.Track(QemuGuest.Start(GuestImage.Spec("guest-1", 128), _box.A));
        await SerialHeartbeat.WaitBeyondAsync(src.SerialPath, null, deadline.Token);
        // A target that gives the heartbeat no time: its check fails after the guest resumed there.
        var hasty = new VmActuatorOptions
        {
            Id = "hv-b", Agents = { ["hv-a"] = _box.A, ["hv-b"] = _box.B }, PrepareTimeout = TimeSpan.FromSeconds(15),
            StopReceivedGuestsOnDispose = true, Migration = new MigrationOptions { VerifyTimeout = TimeSpan.FromMilliseconds(1) },
        };
        using var target = new VmActuator(hasty);

        var move = Command(clock: Wall);
        var moving = Run(move, clock: Wall);
        var received = await target.ExecuteAsync(ReceiveOf(move), deadline.Token);
        var result = await moving;

        Assert.Equal(ResultStatus.Failed, received.status);
        Assert.Contains("keeps running here", received.error, StringComparison.Ordinal);
        var kept = Assert.Single(target.Received);
        Assert.False(kept.HasExited, "the only running copy of the guest must not be killed");
        Assert.True(result.status == ResultStatus.Succeeded, result.error);
        Assert.NotNull(await SerialHeartbeat.WaitBeyondAsync(kept.SerialPath, SerialHeartbeat.Last(kept.SerialPath), deadline.Token));
    }

    [SkippableFact]
    public async Task A_receive_never_replaces_a_running_guest_of_the_same_name()
    {
        Skip.If(GuestImage.Problem is not null, GuestImage.Problem);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        new QemuGuestSpec { Name = "guest-1", Kernel = "/boot/k", Initrd = "/boot/i" }.Save(_box.A);
        var resident = _box.Track(QemuGuest.Start(GuestImage.Spec("guest-1", 128), _box.B));
        await using (await resident.ConnectQmpAsync(null, deadline.Token))
        {
            // Connected once: the socket is up. The receive below must find it answering.
        }

        var received = await _target.ExecuteAsync(ReceiveOf(Command(clock: Wall)), deadline.Token);

        Assert.Equal(ResultStatus.Failed, received.status);
        Assert.Contains("already runs at this agent", received.error, StringComparison.Ordinal);
        Assert.False(resident.HasExited);
        await using var still = await resident.ConnectQmpAsync(null, deadline.Token);
        Assert.Empty(_target.Received);
    }

    [SkippableFact]
    public async Task A_source_restarted_mid_move_reconciles_from_the_real_guest_reports_it_at_home_and_never_runs_the_command_again()
    {
        Skip.If(GuestImage.Problem is not null, GuestImage.Problem);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var src = _box.Track(QemuGuest.Start(GuestImage.Spec("guest-1", 128), _box.A));
        await SerialHeartbeat.WaitBeyondAsync(src.SerialPath, null, deadline.Token);
        var move = Command(clock: Wall);
        var journalPath = Path.Join(_box.Root, "hv-a.journal");
        // A crash right after the journal recorded the start: the line is there, no result was published.
        using (var journal = CommandJournal.Open(journalPath))
        {
            journal.Started(move);
        }
        using var restarted = new VmActuator(_options, journal: CommandJournal.Open(journalPath));

        var reconciled = Assert.Single(await restarted.ReconcileAsync(deadline.Token));

        Assert.Equal((move.commandId, ResultStatus.Failed), (reconciled.commandId, reconciled.status));
        Assert.Contains("runs at the source", reconciled.error, StringComparison.Ordinal);
        Assert.True(reconciled.phases.ContainsKey("reconcile"));
        restarted.Published(reconciled);
        // Never run again; a planner re-sending it to reconcile learns that it failed.
        var replay = await restarted.ExecuteAsync(move, deadline.Token);
        Assert.Equal((ResultStatus.Failed, "duplicate command: already executed, and it failed"), (replay.status, replay.error));
        using var again = new VmActuator(_options, journal: CommandJournal.Open(journalPath));
        Assert.Empty(await again.ReconcileAsync(deadline.Token));
        Assert.False(src.HasExited);
    }

    public void Dispose()
    {
        _target.Dispose();
        _box.Dispose();
    }
}
