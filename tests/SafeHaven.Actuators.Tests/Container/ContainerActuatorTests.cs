using SafeHaven.Actuators.Container;
using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.Actuators.Tests.Container;

/// <summary>Two container agents on this machine, each running its own half of a move on its own command.</summary>
public sealed class ContainerActuatorTests : IDisposable
{
    private const int Ports = 27315;
    private readonly ContainerSandbox _box = new();
    // The agents' clock: commands are issued and checked for their deadline on it, whatever the machine's load.
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));

    private ContainerActuatorOptions Options(string id) => new()
    {
        Id = id, Agents = { ["host-a"] = _box.A.Root, ["host-b"] = _box.B.Root }, Criu = CriuHost.Options(Ports),
    };

    private IsolationCommand Move(string action, string id, string container)
    {
        var now = _time.NowNs();
        return new IsolationCommand
        {
            commandId = id, entity = new EntityRef { datacenter = "dc", host = "h", container = container }, level = Levels.Container,
            action = action, source = "host-a", target = "host-b", issuedAtNs = now, deadlineNs = now + 60_000_000_000, dryRun = false,
            reasons = [], signature = [],
        };
    }

    [SkippableFact]
    [Trait("Category", "Integration")]
    public async Task Isolate_at_the_source_and_receive_at_the_target_move_the_container()
    {
        Skip.If(CriuHost.Problem is not null, CriuHost.Problem);
        using var source = new ContainerActuator(Options("host-a"), _time);
        using var target = new ContainerActuator(Options("host-b"), _time);
        Assert.True((await source.ProbeAsync()).Available);
        var hb = _box.File("web.hb");
        var started = await NamespacedContainer.StartAsync(_box.A, CriuHost.Spec("web", hb), CriuHost.Options(Ports));
        await CriuHost.BeatsAsync(hb, null);
        var sourceTree = ProcessTree.Of(started.InitPid);

        var dryRun = Move(Actions.Isolate, "cmd-dry", "web");
        dryRun.dryRun = true;
        Assert.Equal(ResultStatus.Skipped, (await source.ExecuteAsync(dryRun)).status);
        var receiving = target.ExecuteAsync(Move(Actions.Receive, "cmd-1" + Actions.ReceiveIdSuffix, "web"));
        var sent = await source.ExecuteAsync(Move(Actions.Isolate, "cmd-1", "web"));
        var received = await receiving;

        Assert.True(sent.status == ResultStatus.Succeeded, sent.error);
        Assert.True(received.status == ResultStatus.Succeeded, received.error);
        Assert.All(new[] { "validate", "dump", "transfer", "release", "total" }, p => Assert.True(sent.phases.ContainsKey(p), $"source phase {p}"));
        Assert.All(new[] { "prepare", "restore", "verify", "total" }, p => Assert.True(received.phases.ContainsKey(p), $"target phase {p}"));
        Assert.Null(_box.A.Load("web"));
        Assert.True(_box.B.Load("web")!.IsRunning);
        // Both copies would write the one heartbeat file: only the source's processes being gone shows it moved.
        Assert.All(sourceTree, pid => Assert.True(ProcFs.Default.State(pid) is null or 'Z' or 'X', $"source process {pid} still there ({ProcFs.Default.State(pid)})"));
        Assert.DoesNotContain(_box.B.Load("web")!.InitPid, sourceTree);
        Assert.False(Directory.Exists(_box.A.Outgoing("web")), "the source's dump images are left");
        Assert.False(Directory.Exists(Path.Join(_box.B.Incoming("web"), "images")), "the tenant's memory image is left at the target");
        Assert.Equal(ResultStatus.Skipped, (await source.ExecuteAsync(Move(Actions.Isolate, "cmd-1", "web"))).status);
        await CriuHost.BeatsAsync(hb, null);
    }

    public void Dispose() => _box.Dispose();
}
