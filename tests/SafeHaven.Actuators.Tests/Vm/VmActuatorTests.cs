using SafeHaven.Actuators.Vm;
using SafeHaven.Core;
using SafeHaven.Schemas;
using SafeHaven.Security;

namespace SafeHaven.Actuators.Tests.Vm;

/// <summary>The QMP hypervisor agent: command checks without QEMU, and one real 128 MB post-copy move.</summary>
public sealed class VmActuatorTests : IDisposable
{
    private readonly VmSandbox _box = new();
    private readonly VmActuatorOptions _options;
    private readonly LocalQemuDestinations _destinations;
    private int _seq;

    public VmActuatorTests()
    {
        _options = new VmActuatorOptions { Id = "hv-a", Agents = { ["hv-a"] = _box.A, ["hv-b"] = _box.B } };
        _destinations = new LocalQemuDestinations(_options);
        Directory.CreateDirectory(_box.A);
    }

    private IsolationCommand Command(string vm = "guest-1", string target = "hv-b")
    {
        var now = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;
        return new()
        {
            commandId = $"vm-cmd-{++_seq}", entity = new EntityRef { datacenter = "local", host = "h", vm = vm },
            level = Levels.Vm, action = Actions.Isolate, source = "hv-a", target = target,
            issuedAtNs = now, deadlineNs = now + 60_000_000_000, dryRun = false, reasons = [], signature = [],
        };
    }

    private async Task<IsolationResult> Run(IsolationCommand cmd, CommandVerifier? verifier = null)
    {
        using var agent = new VmActuator(_options, _destinations, verifier: verifier);
        return await agent.ExecuteAsync(cmd);
    }

    [Fact]
    public async Task Foreign_expired_malformed_and_unsigned_commands_are_rejected_and_nothing_starts()
    {
        var foreign = Command();
        foreign.source = "hv-b";
        var expired = Command();
        expired.deadlineNs = expired.issuedAtNs - 1;
        var badVm = Command(vm: "../etc,x");
        var self = Command(target: "hv-a");
        var unknown = Command(target: "hv-z");
        var core = Command();
        core.level = Levels.Core;
        foreach (var (cmd, why) in new[] { (foreign, "foreign"), (expired, "expired"), (badVm, "not a valid VM name"), (self, "not another"), (unknown, "not another"), (core, "level") })
        {
            var result = await Run(cmd);
            Assert.Equal(ResultStatus.Rejected, result.status);
            Assert.Contains(why, result.error, StringComparison.Ordinal);
            Assert.True(result.phases.ContainsKey("validate"));
        }
        _ = CommandSigner.Ephemeral(out var verifier);
        Assert.Equal("unsigned command", (await Run(Command(), verifier)).error);
        Assert.False(Directory.Exists(_box.B), "no destination may be prepared for a refused command");
    }

    [Fact]
    public async Task Unknown_guest_fails_and_dry_run_and_duplicates_do_nothing()
    {
        var missing = await Run(Command(vm: "nope"));
        Assert.Equal(ResultStatus.Failed, missing.status);
        Assert.Contains("not a guest of this agent", missing.error, StringComparison.Ordinal);

        new QemuGuestSpec { Name = "guest-1", Kernel = "/boot/k", Initrd = "/boot/i" }.Save(_box.A);
        var dry = Command();
        dry.dryRun = true;
        var dryResult = await Run(dry);
        Assert.Equal(ResultStatus.Skipped, dryResult.status);
        Assert.Contains("would migrate vm 'guest-1'", dryResult.error, StringComparison.Ordinal);

        // No QMP socket: the move fails before it starts, once; the redelivery is a duplicate.
        using var agent = new VmActuator(_options, _destinations);
        var cmd = Command();
        var first = await agent.ExecuteAsync(cmd);
        Assert.Equal(ResultStatus.Failed, first.status);
        Assert.Contains("guest at source", first.error, StringComparison.Ordinal);
        var again = await agent.ExecuteAsync(cmd);
        Assert.Equal(ResultStatus.Skipped, again.status);
        Assert.Contains("duplicate", again.error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_box.B));
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

        var result = await Run(Command());

        Assert.True(result.status == ResultStatus.Succeeded, result.error);
        Assert.Superset(new HashSet<string> { "validate", "prepare", "setup", "precopy", "switchover", "postcopy", "verify", "total" }, result.phases.Keys.ToHashSet());
        Assert.True(result.downtimeNs is > 0 && result.downtimeNs < result.phases["total"], $"downtime {result.downtimeNs}");
        await src.WaitForExitAsync(ct);
        var destSerial = Path.Join(_box.B, "guest-1.serial");
        var onDest = await SerialHeartbeat.WaitBeyondAsync(destSerial, null, ct);
        var later = await SerialHeartbeat.WaitBeyondAsync(destSerial, onDest, ct);
        Assert.True(onDest >= sourceBeat && later > onDest, $"destination beats {onDest}, {later} after source {sourceBeat}");
    }

    public void Dispose()
    {
        _destinations.Dispose();
        _box.Dispose();
    }
}
