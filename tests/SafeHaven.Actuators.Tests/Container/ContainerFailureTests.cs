using SafeHaven.Actuators.Container;
using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.Actuators.Tests.Container;

/// <summary>
/// Moves that fail half-way, with a fake criu (see <see cref="FakeCriu"/>): whatever fails before the target's
/// verdict, the source copy runs again and each half ends in a result; no root or CRIU needed.
/// </summary>
public sealed class ContainerFailureTests : IDisposable
{
    private const int Ports = 27345;
    private readonly ContainerSandbox _box = new();
    // The agents' clock: commands are issued and checked for their deadline on it, whatever the machine's load.
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));

    private Handoff Ticket(string moveId)
    {
        var handoff = new Handoff(_box.B.Incoming("web"), moveId);
        handoff.Reset();
        handoff.WriteTicket(new Ticket(moveId, CriuPageMode.PageServer, "127.0.0.1", CriuHost.UnusedPorts));
        return handoff;
    }

    private IsolationCommand Command(string action, string id)
    {
        var now = _time.NowNs();
        return new IsolationCommand
        {
            commandId = id, entity = new EntityRef { datacenter = "dc", host = "h", container = "web" }, level = Levels.Container,
            action = action, source = "host-a", target = "host-b", issuedAtNs = now, deadlineNs = now + 60_000_000_000, reasons = [], signature = [],
        };
    }

    [Fact]
    public async Task A_meeting_place_removed_during_the_dump_resumes_the_source_and_the_agent_still_reports()
    {
        using var criu = new FakeCriu(_box.Root, dumpHook: $"rm -rf '{_box.B.Incoming("web")}'");
        var web = criu.Start(_box.A, "web");
        using var agent = new ContainerActuator(new ContainerActuatorOptions
        {
            Id = "host-a", Agents = { ["host-a"] = _box.A.Root, ["host-b"] = _box.B.Root }, Criu = criu.Options(Ports),
        }, _time);
        Ticket("cmd-1");

        var result = await agent.ExecuteAsync(Command(Actions.Isolate, "cmd-1"));

        Assert.True(result.status == ResultStatus.Failed, result.error);
        Assert.Contains("failed before the handover", result.error, StringComparison.Ordinal);
        Assert.EndsWith("container kept running at the source (container at host-a)", result.error, StringComparison.Ordinal);
        Assert.True(FakeCriu.Runs(web.InitPid), $"source copy is {ProcFs.Default.State(web.InitPid)}");
        Assert.False(Directory.Exists(_box.A.Outgoing("web")), "the dump's images are left at the source");
    }

    [Fact]
    public async Task A_receive_that_cannot_read_its_registry_still_reports_where_the_container_is()
    {
        using var criu = new FakeCriu(_box.Root);
        ContainerSite.CreatePrivate(_box.B.Containers);
        File.WriteAllText(Path.Join(_box.B.Containers, "web.json"), "{ torn");
        using var agent = new ContainerActuator(new ContainerActuatorOptions
        {
            Id = "host-b", Agents = { ["host-a"] = _box.A.Root, ["host-b"] = _box.B.Root }, Criu = criu.Options(Ports),
        }, _time);

        IsolationResult result;
        try
        {
            result = await agent.ExecuteAsync(Command(Actions.Receive, "cmd-1" + Actions.ReceiveIdSuffix));
        }
        finally
        {
            // The sandbox reads every entry when it cleans up.
            File.Delete(Path.Join(_box.B.Containers, "web.json"));
        }

        Assert.True(result.status == ResultStatus.Failed, result.error);
        Assert.EndsWith("(container at host-a)", result.error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_handover_note_that_cannot_be_written_resumes_the_source()
    {
        using var criu = new FakeCriu(_box.Root);
        var web = criu.Start(_box.A, "web");
        var handoff = Ticket("move-1");
        Directory.CreateDirectory(Path.Join(handoff.Dir, "sent.json", "in-the-way"));

        var sent = await ContainerMigrator.SendAsync(_box.A, _box.B, "web", "move-1", criu.Options(Ports));

        Assert.False(sent.Succeeded);
        Assert.Equal("host-a", sent.ContainerAt);
        Assert.Contains("kept running at the source", sent.Error, StringComparison.Ordinal);
        Assert.True(FakeCriu.Runs(web.InitPid), $"source copy is {ProcFs.Default.State(web.InitPid)}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_meeting_place_removed_while_the_source_waits_for_the_verdict_resumes_it_unless_the_target_runs_the_container(bool runsAtTarget)
    {
        using var criu = new FakeCriu(_box.Root);
        var web = criu.Start(_box.A, "web");
        var handoff = Ticket("move-1");
        var sending = ContainerMigrator.SendAsync(_box.A, _box.B, "web", "move-1", criu.Options(Ports));
        Assert.NotNull(await handoff.WaitSentAsync(TimeSpan.FromSeconds(10), CancellationToken.None));
        Directory.Delete(handoff.Dir, recursive: true);
        if (runsAtTarget)
        {
            criu.Start(_box.B, "web");
        }

        var sent = await sending;

        Assert.False(sent.Succeeded);
        Assert.Contains("meeting place is unusable", sent.Error, StringComparison.Ordinal);
        if (runsAtTarget)
        {
            // Registered there: resuming here would run two copies.
            Assert.Equal("unknown", sent.ContainerAt);
            Assert.Equal('T', ProcFs.Default.State(web.InitPid));
        }
        else
        {
            Assert.Equal("host-a", sent.ContainerAt);
            Assert.True(FakeCriu.Runs(web.InitPid), $"source copy is {ProcFs.Default.State(web.InitPid)}");
        }
    }

    [Fact]
    public async Task A_target_that_refuses_the_dump_tells_the_source_at_once_and_drops_the_images()
    {
        using var criu = new FakeCriu(_box.Root);
        var receiving = ContainerMigrator.ReceiveAsync(_box.B, "host-a", "web", "move-1", criu.Options(Ports));
        var handoff = new Handoff(_box.B.Incoming("web"), "move-1");
        Assert.NotNull(await handoff.WaitTicketAsync(TimeSpan.FromSeconds(10), CancellationToken.None));
        var other = new ContainerRecord
        {
            Spec = new ContainerSpec { Name = "other", Command = ["/bin/sleep", "1"] }, InitPid = Environment.ProcessId, InitStartTime = 1, LogFile = "/tmp/other.log",
        };
        handoff.WriteSent(new Sent("move-1", null, other, null, null, 0, 0));

        var received = await receiving;

        Assert.False(received.Succeeded);
        Assert.Contains("not 'web'", received.Error, StringComparison.Ordinal);
        Assert.Contains("not 'web'", (await handoff.WaitOutcomeAsync(TimeSpan.Zero, CancellationToken.None))?.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(handoff.Images), "the images are left at the target");
    }

    [Fact]
    public async Task A_target_cancelled_before_the_dump_tells_the_source()
    {
        using var criu = new FakeCriu(_box.Root);
        using var cancel = new CancellationTokenSource();
        var receiving = ContainerMigrator.ReceiveAsync(_box.B, "host-a", "web", "move-1", criu.Options(Ports), cancel.Token);
        var handoff = new Handoff(_box.B.Incoming("web"), "move-1");
        Assert.NotNull(await handoff.WaitTicketAsync(TimeSpan.FromSeconds(10), CancellationToken.None));

        await cancel.CancelAsync();
        var received = await receiving;

        Assert.False(received.Succeeded);
        Assert.Contains("cancelled", (await handoff.WaitOutcomeAsync(TimeSpan.Zero, CancellationToken.None))?.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_target_that_cannot_register_the_restored_copy_kills_it_and_the_source_resumes()
    {
        using var criu = new FakeCriu(_box.Root);
        var web = criu.Start(_box.A, "web");
        // The registry entry cannot be replaced: a directory stands where it goes.
        Directory.CreateDirectory(Path.Join(_box.B.Containers, "web.json", "in-the-way"));

        var moved = await ContainerMigrator.MigrateAsync(_box.A, _box.B, "web", criu.Options(Ports));

        Assert.False(moved.Succeeded);
        Assert.Equal("host-a", moved.ContainerAt);
        Assert.Contains("registering the restored container 'web'", moved.Error, StringComparison.Ordinal);
        Assert.True(FakeCriu.Runs(web.InitPid), $"source copy is {ProcFs.Default.State(web.InitPid)}");
        var restored = Assert.Single(criu.RestoredPids());
        Assert.True(FakeCriu.Gone(restored), $"the unregistered restored copy {restored} still runs");
        Assert.False(Directory.Exists(_box.A.Outgoing("web")));
        Assert.False(Directory.Exists(Path.Join(_box.B.Incoming("web"), "images")));
    }

    [Fact]
    public async Task A_move_registers_the_container_at_the_target_ends_the_source_copy_and_leaves_no_images()
    {
        using var criu = new FakeCriu(_box.Root);
        var web = criu.Start(_box.A, "web");

        var moved = await ContainerMigrator.MigrateAsync(_box.A, _box.B, "web", criu.Options(Ports));

        Assert.True(moved.Succeeded, moved.Error);
        Assert.True(FakeCriu.Gone(web.InitPid));
        Assert.Null(_box.A.Load("web"));
        Assert.Equal(Assert.Single(criu.RestoredPids()), _box.B.Load("web")?.InitPid);
        Assert.False(Directory.Exists(_box.A.Outgoing("web")));
        Assert.False(Directory.Exists(Path.Join(_box.B.Incoming("web"), "images")));
    }

    public void Dispose() => _box.Dispose();
}
