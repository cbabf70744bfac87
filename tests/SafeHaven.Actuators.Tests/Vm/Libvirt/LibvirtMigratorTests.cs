using SafeHaven.Actuators.Agent;
using SafeHaven.Actuators.Vm;
using SafeHaven.Actuators.Vm.Libvirt;
using Xunit.Abstractions;

namespace SafeHaven.Actuators.Tests.Vm.Libvirt;

/// <summary>Real guests through two private libvirt daemons: one 128 MB post-copy move, and moves that must fail.</summary>
[Collection("libvirt")]
public sealed class LibvirtMigratorTests(LibvirtDaemons daemons, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly List<string> _guests = [];

    private LibvirtConnection A => daemons.A;

    private LibvirtConnection B => daemons.B;

    // Boots NAME (128 MB) at A and waits for two beats, so it really runs before it moves.
    private async Task<(string Name, string Serial)> BootAtA(string name, CancellationToken ct)
    {
        _guests.Add(name);
        var serial = daemons.Serial(name, "a");
        await A.DefineAndStartAsync(GuestImage.Spec(name, 128), serial, ct);
        var beat = await SerialHeartbeat.WaitBeyondAsync(serial, null, ct);
        Assert.NotNull(await SerialHeartbeat.WaitBeyondAsync(serial, beat, ct));
        return (name, serial);
    }

    [SkippableFact]
    public async Task Guest_migrates_postcopy_and_keeps_beating_on_the_destination()
    {
        Skip.If(daemons.Problem is not null, daemons.Problem);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var ct = deadline.Token;
        var (name, srcSerial) = await BootAtA("lv-move", ct);
        var dstSerial = daemons.Serial(name, "b");

        var sourceLast = SerialHeartbeat.Last(srcSerial);
        // Pre-copy at 64 MiB/s: a 128 MB guest's first pass then lasts long enough (≈2 s) for the switch to post-copy to
        // land in it on any machine (at full speed it could finish as pre-copy); post-copy runs at the full rate.
        // Loopback TCP exercises the daemons' port ranges.
        var options = new MigrationOptions { PrecopyBandwidthBytesPerSecond = 64L << 20 };
        var outcome = await LibvirtMigrator.MigrateAsync(A, B, name, dstSerial, sourceLast, options, "tcp://127.0.0.1", ct);
        output.WriteLine(Describe(outcome));

        Assert.True(outcome.Succeeded, outcome.Error);
        Assert.Null(outcome.Error);
        Assert.Equal("destination", outcome.GuestAt);
        Assert.Equal("postcopy", outcome.Mode);
        Assert.True((await B.StateAsync(name, ct))?.IsRunning, "the destination must run the guest");
        Assert.False((await A.StateAsync(name, ct))?.IsRunning ?? false, "the source must not run it any more");
        Assert.Null(await A.StateAsync(name, ct)); // its definition moved with it
        Assert.True(await B.IsPersistentAsync(name, ct));
        var (first, last) = outcome.DestinationHeartbeats!.Value;
        Assert.True(first >= sourceLast, $"destination beat {first} is behind the source's {sourceLast}");
        Assert.True(last > first);
        Assert.NotNull(await SerialHeartbeat.WaitBeyondAsync(dstSerial, last, ct));
        foreach (var phase in new[] { "setup", "precopy", "switchover", "postcopy", "verify" })
        {
            Assert.True(outcome.PhasesNs.ContainsKey(phase), $"phase {phase} missing: {string.Join(',', outcome.PhasesNs.Keys)}");
        }
        Assert.True(outcome.DowntimeNs > 0, $"downtime {outcome.DowntimeNs}");
        Assert.True(outcome.TotalNs > 0);
        Assert.True(outcome.BytesTransferred > 0, "libvirt's completed job statistics hold the bytes sent");
    }

    [SkippableFact]
    public async Task Unreachable_destination_daemon_leaves_the_guest_running_at_the_source()
    {
        Skip.If(daemons.Problem is not null, daemons.Problem);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var ct = deadline.Token;
        var (name, srcSerial) = await BootAtA("lv-nodest", ct);
        var nowhere = new LibvirtConnection(LibvirtUri.ForSocket(Path.Join(daemons.Root, "nowhere", "libvirt-sock")));

        var outcome = await LibvirtMigrator.MigrateAsync(A, nowhere, name, daemons.Serial(name, "b"), null, new MigrationOptions(), "tcp://127.0.0.1", ct);
        output.WriteLine(Describe(outcome));

        Assert.False(outcome.Succeeded);
        Assert.Equal("source", outcome.GuestAt);
        Assert.Contains("nowhere", outcome.Error, StringComparison.Ordinal);
        await AssertStillBeatsAtA(name, srcSerial, ct);
    }

    [SkippableFact]
    public async Task Destination_that_refuses_the_guest_leaves_it_running_at_the_source()
    {
        Skip.If(daemons.Problem is not null, daemons.Problem);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var ct = deadline.Token;
        var (name, srcSerial) = await BootAtA("lv-refused", ct);
        // B's QEMU cannot open a serial file in a missing directory: libvirt's prepare step fails on B.
        var unopenable = Path.Join(daemons.Root, "no-such-dir", name + ".serial");

        var outcome = await LibvirtMigrator.MigrateAsync(A, B, name, unopenable, null, new MigrationOptions(), "tcp://127.0.0.1", ct);
        output.WriteLine(Describe(outcome));

        Assert.False(outcome.Succeeded);
        Assert.Equal("source", outcome.GuestAt);
        Assert.Contains("virsh migrate", outcome.Error, StringComparison.Ordinal);
        Assert.Null(await B.StateAsync(name, ct));
        await AssertStillBeatsAtA(name, srcSerial, ct);
    }

    private async Task AssertStillBeatsAtA(string name, string serial, CancellationToken ct)
    {
        Assert.True((await A.StateAsync(name, ct))?.IsRunning, "the guest must still run at the source");
        var now = SerialHeartbeat.Last(serial);
        Assert.NotNull(await SerialHeartbeat.WaitBeyondAsync(serial, now, ct));
    }

    private static string Describe(MigrationOutcome o) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"succeeded={o.Succeeded} at={o.GuestAt} mode={o.Mode} total={o.TotalNs / 1e6:F0} ms downtime={o.DowntimeNs / 1e6:F1} ms bytes={o.BytesTransferred} phases={string.Join(' ', o.PhasesNs.Select(p => $"{p.Key}={p.Value / 1e6:F1}"))} error={o.Error}");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (daemons.Problem is not null)
        {
            return;
        }
        foreach (var name in _guests)
        {
            await A.RemoveAsync(name);
            await B.RemoveAsync(name);
        }
    }
}
