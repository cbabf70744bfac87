using SafeHaven.Actuators.Host;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Actuators.Host.Llc;
using SafeHaven.Core;
using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.Actuators.Tests.Host;

/// <summary>The host agent with intermediate levels: what it announces, and hostile targets refused before any action.</summary>
public sealed class HostActuatorLevelsTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 5, 1, 0, 0, TimeSpan.Zero));
    private readonly string _root = Directory.CreateTempSubdirectory("sh-levels-").FullName;
    private int _seq;

    private HostActuator Actuator(HostLevels levels) => new(new HostActuatorOptions { Id = "host-a", IsolationCpus = Host.Cpu1, CgroupName = "unused" },
        new CoreIsolator(new CgroupV1Cpuset(parentName: Host.UniqueName())), _time, CpuList.Parse("0-1"), levels: levels);

    private IsolationCommand Command(string level, string? target, string action = Actions.Isolate) => new()
    {
        commandId = $"cmd-{++_seq}", entity = new EntityRef { datacenter = "local", host = "host-a", pid = Environment.ProcessId },
        level = level, action = action, source = "host-a", target = target, issuedAtNs = _time.NowNs(), deadlineNs = _time.NowNs() + 5_000_000_000,
        dryRun = true, reasons = [], signature = [], group = "g1",
    };

    private HostLevels WithLlc()
    {
        Directory.CreateDirectory(Path.Join(_root, "info", "L3"));
        File.WriteAllText(Path.Join(_root, "info", "L3", "cbm_mask"), "ff\n");
        File.WriteAllText(Path.Join(_root, "info", "L3", "min_cbm_bits"), "1\n");
        File.WriteAllText(Path.Join(_root, "info", "L3", "num_closids"), "4\n");
        File.WriteAllText(Path.Join(_root, "schemata"), "L3:0=ff\n");
        var (llc, info) = Resctrl.Probe(_root);
        var smt = new LevelSupport(Levels.Smt, false, "no SMT: /sys/devices/system/cpu/smt/active = 0");
        var numa = new LevelSupport(Levels.Numa, false, "one NUMA node: /sys/devices/system/node/online = 0");
        return new HostLevels([smt, llc, numa], null, new ResctrlGroups(info!), info!.Layout.Slots, null, new Dictionary<int, CpuList>());
    }

    [Fact]
    public void The_agent_announces_core_and_only_the_levels_whose_mechanism_is_here_with_what_they_hand_out()
    {
        var levels = WithLlc();
        Assert.Equal([Levels.Core, Levels.Llc], levels.Announced);
        Assert.Equal(new Dictionary<string, string> { [InventoryAttributes.LlcSlots] = "2" }, levels.Describe([]));
        Assert.Equal([Levels.Core], HostLevels.None.Announced);
    }

    [Theory]
    [InlineData(Levels.Llc, "../1", "target '../1' is not an LLC group of this host (0..1)")]
    [InlineData(Levels.Llc, "-1", "target '-1' is not an LLC group of this host (0..1)")]
    [InlineData(Levels.Llc, "2", "target '2' is not an LLC group of this host (0..1)")]
    [InlineData(Levels.Llc, "00001", "target '00001' is not an LLC group of this host (0..1)")]
    [InlineData(Levels.Smt, Planner.SmtTarget, "level smt is not available on this host: no SMT: /sys/devices/system/cpu/smt/active = 0")]
    [InlineData(Levels.Numa, "0", "level numa is not available on this host: one NUMA node: /sys/devices/system/node/online = 0")]
    public void Hostile_or_unavailable_targets_are_rejected_naming_why(string level, string target, string error)
    {
        var result = Actuator(WithLlc()).Execute(Command(level, target));
        Assert.Equal(ResultStatus.Rejected, result.status);
        Assert.Equal(error, result.error);
        Assert.Equal(["info"], Directory.EnumerateDirectories(_root).Select(Path.GetFileName));
    }

    [Fact]
    public void A_valid_llc_target_passes_its_check_and_meets_the_next_one()
    {
        var result = Actuator(WithLlc()).Execute(Command(Levels.Llc, "1"));
        Assert.Equal(ResultStatus.Rejected, result.status);
        Assert.Equal("the agent's own process is never moved", result.error);
    }

    [Fact]
    public void On_this_machine_the_agent_announces_exactly_the_levels_whose_probe_found_the_mechanism()
    {
        var levels = HostLevels.Detect(new CoreIsolator(new CgroupV1Cpuset(parentName: Host.UniqueName())), Host.Cpu1);

        Assert.Equal([Levels.Smt, Levels.Llc, Levels.Numa], levels.Support.Select(s => s.Level));
        Assert.Equal([.. Levels.OnHost.Where(l => l == Levels.Core || levels.Support.Single(s => s.Level == l).Available)], levels.Announced);
        foreach (var missing in levels.Support.Where(s => !s.Available))
        {
            Assert.Equal($"level {missing.Level} is not available on this host: {missing.Reason}", levels.Refusal(missing.Level));
        }
        var described = levels.Describe([]);
        Assert.Equal(levels.Announced.Contains(Levels.Llc), described.ContainsKey(InventoryAttributes.LlcSlots));
        Assert.Equal(levels.Announced.Contains(Levels.Numa), described.ContainsKey(InventoryAttributes.NumaNodes));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
