using SafeHaven.Actuators.Container;
using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.Actuators.Tests.Container;

/// <summary>Container names, registry entries, the handoff's single decision and the actuator's refusals; no criu needed.</summary>
public sealed class ContainerSiteTests : IDisposable
{
    private readonly string _root = Path.Join("/tmp", "shcs-" + Guid.NewGuid().ToString("N")[..8]);
    // The agents' clock: commands are issued and checked for their deadline on it, whatever the machine's load.
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));

    [Theory]
    [InlineData("../etc")]
    [InlineData("-rf")]
    [InlineData(".hidden")]
    [InlineData("a b")]
    [InlineData("a/b")]
    [InlineData("")]
    [InlineData("x\n")]
    public void Bad_container_names_never_reach_a_path(string name)
    {
        var site = new ContainerSite("host-a", _root);
        Assert.Throws<ArgumentException>(() => site.Incoming(name));
        Assert.Throws<ArgumentException>(() => site.Outgoing(name));
        Assert.Throws<ArgumentException>(() => site.Load(name));
        Assert.Throws<ArgumentException>(() => new ContainerSpec { Name = name, Command = ["/bin/true"] }.Validate());
    }

    [Fact]
    public void Sites_need_a_token_id_and_a_safe_root()
    {
        Assert.Throws<ArgumentException>(() => new ContainerSite("host a", _root));
        Assert.Throws<ArgumentException>(() => new ContainerSite("host-a", "relative"));
        Assert.Throws<ArgumentException>(() => new ContainerSite("host-a", "/tmp/../etc"));
    }

    [Fact]
    public void Specs_need_an_absolute_command_and_safe_paths()
    {
        new ContainerSpec { Name = "web-1", Command = ["/bin/sh", "-c", "anything; at all"], HeartbeatFile = "/tmp/hb" }.Validate();
        Assert.Throws<ArgumentException>(() => new ContainerSpec { Name = "web", Command = ["sh"] }.Validate());
        Assert.Throws<ArgumentException>(() => new ContainerSpec { Name = "web", Command = [] }.Validate());
        Assert.Throws<ArgumentException>(() => new ContainerSpec { Name = "web", Command = ["/bin/sh", "a\0b"] }.Validate());
        Assert.Throws<ArgumentException>(() => new ContainerSpec { Name = "web", Command = ["/bin/true"], WorkingDirectory = "tmp" }.Validate());
        Assert.Throws<ArgumentException>(() => new ContainerSpec { Name = "web", Command = ["/bin/true"], HeartbeatFile = "/tmp/../hb" }.Validate());
    }

    [Fact]
    public void Registry_entries_round_trip_and_are_checked_on_load()
    {
        var site = new ContainerSite("host-a", _root);
        var record = new ContainerRecord
        {
            Spec = new ContainerSpec { Name = "web", Command = ["/bin/sleep", "1"] }, InitPid = 1234, InitStartTime = 99, LogFile = site.LogOf("web"),
        };
        site.Save(record);
        var loaded = site.Load("web");
        Assert.NotNull(loaded);
        Assert.Equal(1234, loaded.InitPid);
        Assert.Equal(record.Spec.Command, loaded.Spec.Command);
        Assert.Equal(["web"], site.Names());
        Assert.False(loaded.IsRunning);

        File.WriteAllText(Path.Join(site.Containers, "evil.json"), File.ReadAllText(Path.Join(site.Containers, "web.json")));
        Assert.Throws<ArgumentException>(() => site.Load("evil"));
        File.WriteAllText(Path.Join(site.Containers, "bad.json"), """{"Spec":{"Name":"bad","Command":["/bin/true"]},"InitPid":0,"InitStartTime":1,"LogFile":"/l"}""");
        Assert.Throws<ArgumentException>(() => site.Load("bad"));
        site.Remove("web");
        Assert.Null(site.Load("web"));
    }

    [Fact]
    public void Exactly_one_side_decides_a_move()
    {
        var handoff = new Handoff(Path.Join(_root, "incoming", "web"), "move-1");
        handoff.Reset();
        Assert.Equal("restore", handoff.Decide("restore"));
        Assert.Equal("restore", handoff.Decide("abort"));
        Assert.Equal("stale", new Handoff(handoff.Dir, "move-2").Decide("abort"));
        handoff.Reset();
        Assert.Equal("abort", handoff.Decide("abort"));
    }

    [Fact]
    public void Metadata_beyond_the_cap_is_not_handed_over()
    {
        var from = ContainerSite.CreatePrivate(Path.Join(_root, "out"));
        var to = ContainerSite.CreatePrivate(Path.Join(_root, "in"));
        File.WriteAllBytes(Path.Join(from, "core-1.img"), new byte[1000]);
        File.WriteAllText(Path.Join(from, "dump.log"), "log stays");
        Assert.Throws<IOException>(() => ContainerMigrator.CopyMetadata(from, to, 999));
        Assert.Equal(1000, ContainerMigrator.CopyMetadata(from, to, 1000));
        Assert.True(File.Exists(Path.Join(to, "core-1.img")));
        Assert.False(File.Exists(Path.Join(to, "dump.log")));
    }

    [Fact]
    public async Task Actuator_rejects_bad_commands_before_touching_anything()
    {
        var options = new ContainerActuatorOptions { Id = "host-a", Agents = { ["host-a"] = Path.Join(_root, "a"), ["host-b"] = Path.Join(_root, "b") } };
        using var agent = new ContainerActuator(options, _time);
        var now = _time.NowNs();
        IsolationCommand Cmd(string id, string? container, string target = "host-b", string level = Levels.Container, bool dry = false) => new()
        {
            commandId = id, entity = new EntityRef { datacenter = "dc", host = "h", container = container }, level = level, action = Actions.Isolate,
            source = "host-a", target = target, issuedAtNs = now, deadlineNs = now + 60_000_000_000, dryRun = dry, reasons = [], signature = [],
        };

        Assert.Equal(ResultStatus.Rejected, (await agent.ExecuteAsync(Cmd("c1", "../etc"))).status);
        Assert.Equal(ResultStatus.Rejected, (await agent.ExecuteAsync(Cmd("c2", "web", target: "host-z"))).status);
        Assert.Equal(ResultStatus.Rejected, (await agent.ExecuteAsync(Cmd("c3", "web", target: "host-a"))).status);
        Assert.Equal(ResultStatus.Rejected, (await agent.ExecuteAsync(Cmd("c4", "web", level: Levels.Vm))).status);
        var missing = await agent.ExecuteAsync(Cmd("c5", "web"));
        Assert.Equal(ResultStatus.Failed, missing.status);
        Assert.Contains("does not run at agent 'host-a'", missing.error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Join(_root, "b", "incoming")));
        Assert.Throws<ArgumentException>(() => new ContainerActuatorOptions { Id = "host-a", Agents = { ["host-a"] = "rel" } }.Validate());
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
