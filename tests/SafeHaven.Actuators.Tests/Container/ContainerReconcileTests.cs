using SafeHaven.Actuators.Agent;
using SafeHaven.Actuators.Container;
using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.Actuators.Tests.Container;

/// <summary>
/// A container agent restarted mid-move: the journal says the command started, a new actuator reads the real state
/// back. Stopping a tree with SIGSTOP stands in for criu's --leave-stopped, so only namespaced containers (root) are
/// needed, not CRIU.
/// </summary>
public sealed class ContainerReconcileTests : IDisposable
{
    private const int SigStop = 19;
    private const int Ports = 27330;
    private readonly ContainerSandbox _box = new();
    // The agents' clock: commands are issued and checked for their deadline on it, whatever the machine's load.
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));

    private ContainerActuatorOptions Options(string id) => new()
    {
        Id = id, Agents = { ["host-a"] = _box.A.Root, ["host-b"] = _box.B.Root }, Criu = CriuHost.Options(Ports),
    };

    private IsolationCommand Move(string action, string id)
    {
        var now = _time.NowNs();
        return new IsolationCommand
        {
            commandId = id, entity = new EntityRef { datacenter = "dc", host = "h", container = "web" }, level = Levels.Container,
            action = action, source = "host-a", target = "host-b", issuedAtNs = now, deadlineNs = now + 60_000_000_000, dryRun = false,
            reasons = [], signature = [],
        };
    }

    // The agent crashed right after the journal recorded the start; a new one reconciles.
    private async Task<(IsolationResult Result, ContainerActuator Restarted)> RestartAsync(string agent, IsolationCommand cmd)
    {
        var path = _box.File(agent + ".journal");
        using (var journal = CommandJournal.Open(path))
        {
            journal.Started(cmd);
        }
        var restarted = new ContainerActuator(Options(agent), _time, journal: CommandJournal.Open(path));
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var result = Assert.Single(await restarted.ReconcileAsync(deadline.Token));
        Assert.Equal(cmd.commandId, result.commandId);
        Assert.True(result.phases.ContainsKey("reconcile"));
        return (result, restarted);
    }

    private async Task<ContainerRecord> StartAsync(ContainerSite site, string heartbeat)
    {
        Skip.IfNot(Environment.UserName == "root", "namespaced containers (unshare --pid) need root");
        var record = await NamespacedContainer.StartAsync(site, CriuHost.Spec("web", _box.File(heartbeat)), CriuHost.Options(Ports));
        await CriuHost.BeatsAsync(_box.File(heartbeat), null);
        return record;
    }

    [SkippableFact]
    public async Task A_source_restarted_before_the_dump_reports_the_container_at_home_and_never_runs_the_command_again()
    {
        var web = await StartAsync(_box.A, "a.hb");
        var move = Move(Actions.Isolate, "cmd-1");

        var (result, restarted) = await RestartAsync("host-a", move);

        using (restarted)
        {
            Assert.True(result.status == ResultStatus.Failed, result.error);
            Assert.Contains("still runs at the source agent 'host-a'", result.error, StringComparison.Ordinal);
            restarted.Published(result);
            // The command is never run again; a planner that re-sends it to reconcile learns that it failed.
            var replay = await restarted.ExecuteAsync(move);
            Assert.Equal((ResultStatus.Failed, "duplicate command: already executed, and it failed"), (replay.status, replay.error));
        }
        Assert.True(_box.A.Load("web")!.IsRunning);
        Assert.Equal(web.InitPid, _box.A.Load("web")!.InitPid);
        using var again = new ContainerActuator(Options("host-a"), _time, journal: CommandJournal.Open(_box.File("host-a.journal")));
        Assert.Empty(await again.ReconcileAsync());
    }

    [SkippableFact]
    public async Task A_stopped_source_is_resumed_when_the_target_does_not_run_it_and_a_waiting_target_is_released()
    {
        var web = await StartAsync(_box.A, "a.hb");
        var waiting = new Handoff(_box.B.Incoming("web"), "cmd-1");
        waiting.Reset();
        ProcessTree.Signal(ProcessTree.Of(web.InitPid), SigStop);
        Assert.True(await Eventually(() => ProcFs.Default.State(web.InitPid) == 'T'), "the tree did not stop");

        var (result, restarted) = await RestartAsync("host-a", Move(Actions.Isolate, "cmd-1"));
        restarted.Dispose();

        Assert.True(result.status == ResultStatus.Failed, result.error);
        Assert.Contains("resumed at the source agent 'host-a'", result.error, StringComparison.Ordinal);
        Assert.NotEqual('T', ProcFs.Default.State(web.InitPid));
        await CriuHost.BeatsAsync(_box.File("a.hb"), SerialHeartbeatLast("a.hb"));
        // The target can no longer restore this move, and stops waiting for its dump.
        Assert.Equal("abort", waiting.Decide("restore"));
        Assert.NotNull((await waiting.WaitSentAsync(TimeSpan.FromSeconds(1), CancellationToken.None))?.Error);
    }

    [SkippableFact]
    public async Task A_stopped_source_whose_target_runs_the_container_ends_its_copy()
    {
        var atA = await StartAsync(_box.A, "a.hb");
        var atB = await StartAsync(_box.B, "b.hb");
        var tree = ProcessTree.Of(atA.InitPid);
        ProcessTree.Signal(tree, SigStop);

        var (result, restarted) = await RestartAsync("host-a", Move(Actions.Isolate, "cmd-1"));
        restarted.Dispose();

        Assert.True(result.status == ResultStatus.Succeeded, result.error);
        Assert.Contains("runs at agent 'host-b'; the stopped copy here was ended", result.error, StringComparison.Ordinal);
        Assert.Null(_box.A.Load("web"));
        Assert.All(tree, pid => Assert.True(ProcFs.Default.State(pid) is null or 'Z' or 'X', $"pid {pid} still there"));
        Assert.Equal(atB.InitPid, _box.B.Load("web")!.InitPid);
        await CriuHost.BeatsAsync(_box.File("b.hb"), SerialHeartbeatLast("b.hb"));
    }

    [Fact]
    public async Task A_target_restarted_before_the_restore_tells_the_source_and_reports_where_the_container_stays()
    {
        var prepared = new Handoff(_box.B.Incoming("web"), "cmd-1");
        prepared.Reset();

        var (result, restarted) = await RestartAsync("host-b", Move(Actions.Receive, "cmd-1" + Actions.ReceiveIdSuffix));
        restarted.Dispose();

        Assert.True(result.status == ResultStatus.Failed, result.error);
        Assert.Contains("stays with agent 'host-a'", result.error, StringComparison.Ordinal);
        var told = await prepared.WaitOutcomeAsync(TimeSpan.FromSeconds(1), CancellationToken.None);
        Assert.NotNull(told?.Error);
    }

    [SkippableFact]
    public async Task A_target_restarted_after_the_restore_adopts_the_running_tree_and_tells_the_source()
    {
        // The tree criu restored, before the crash kept it from being registered.
        var restored = await StartAsync(_box.B, "b.hb");
        _box.B.Remove("web");
        var handoff = new Handoff(_box.B.Incoming("web"), "cmd-1");
        handoff.Reset();
        handoff.WriteSent(new Sent("cmd-1", null, restored with { MovedFrom = null }, SerialHeartbeatLast("b.hb"), null, 0, 0));
        File.WriteAllText(Path.Join(handoff.Images, "restored.pid"), restored.InitPid.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var (result, restarted) = await RestartAsync("host-b", Move(Actions.Receive, "cmd-1" + Actions.ReceiveIdSuffix));
        restarted.Dispose();

        Assert.True(result.status == ResultStatus.Succeeded, result.error);
        var adopted = _box.B.Load("web");
        Assert.Equal((restored.InitPid, "host-a"), (adopted?.InitPid, adopted?.MovedFrom));
        Assert.True(adopted!.IsRunning);
        Assert.Equal(restored.InitPid, (await handoff.WaitOutcomeAsync(TimeSpan.FromSeconds(1), CancellationToken.None))?.InitPid);
    }

    [SkippableFact]
    public async Task A_target_that_runs_the_container_reports_the_receive_succeeded()
    {
        await StartAsync(_box.B, "b.hb");

        var (result, restarted) = await RestartAsync("host-b", Move(Actions.Receive, "cmd-1" + Actions.ReceiveIdSuffix));
        restarted.Dispose();

        Assert.True(result.status == ResultStatus.Succeeded, result.error);
        Assert.Contains("runs here at agent 'host-b'", result.error, StringComparison.Ordinal);
    }

    private long? SerialHeartbeatLast(string file) => SerialHeartbeat.Last(_box.File(file));

    private static Task<bool> Eventually(Func<bool> condition) => Poll.Until(condition, TimeSpan.FromSeconds(10));

    public void Dispose() => _box.Dispose();
}
