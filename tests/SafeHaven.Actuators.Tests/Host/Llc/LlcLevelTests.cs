using SafeHaven.Actuators.Host.Llc;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Tests.Host.Llc;

/// <summary>
/// The LLC level: the layout's arithmetic, the probe's reasons, and the files written, against a copy of resctrl's tree in a
/// temporary directory (this machine has no resctrl: the real-hardware test skips with the probe's exact reason).
/// </summary>
public sealed class LlcLevelTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sh-resctrl-").FullName;

    [Theory]
    [InlineData(11, 1, 16, 2, 2)]
    [InlineData(20, 1, 16, 2, 5)]
    [InlineData(16, 2, 4, 2, 3)]
    [InlineData(12, 2, 16, 1, 0)]
    [InlineData(1, 1, 16, 1, 0)]
    public void Isolated_groups_take_disjoint_contiguous_ways_and_leave_the_default_at_least_half(int bits, int min, int closids, int ways, int slots)
    {
        var l = new ResctrlLayout(bits, min, closids, ways);
        Assert.Equal(slots, l.Slots);
        var all = l.DefaultMask;
        for (var i = 0; i < l.Slots; i++)
        {
            var m = l.SlotMask(i);
            Assert.Equal(0UL, m & all);
            Assert.Equal(ways, System.Numerics.BitOperations.PopCount(m));
            Assert.Equal(0UL, (m >> System.Numerics.BitOperations.TrailingZeroCount(m)) & ((m >> System.Numerics.BitOperations.TrailingZeroCount(m)) + 1));
            all |= m;
        }
        Assert.True(System.Numerics.BitOperations.PopCount(l.DefaultMask) * 2 >= bits);
        Assert.Throws<ArgumentOutOfRangeException>(() => l.SlotMask(l.Slots));
        Assert.Throws<ArgumentOutOfRangeException>(() => l.SlotMask(-1));
    }

    [Fact]
    public void This_machines_probe_names_exactly_what_is_missing()
    {
        var (s, info) = Resctrl.Probe();
        if (!s.Available)
        {
            Assert.Null(info);
            Assert.StartsWith("resctrl: no /sys/fs/resctrl/info (", s.Reason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_probe_says_whether_the_kernel_or_the_cpu_lacks_it()
    {
        var fs = Path.Join(_root, "filesystems");
        var cpuinfo = Path.Join(_root, "cpuinfo");
        File.WriteAllText(fs, "nodev\tsysfs\nnodev\tcgroup\n");
        File.WriteAllText(cpuinfo, "processor\t: 0\nflags\t\t: fpu ht hypervisor\n");
        var missing = Path.Join(_root, "none");
        var (s, _) = Resctrl.Probe(missing, filesystems: fs, cpuinfo: cpuinfo);
        Assert.Equal($"resctrl: no {missing}/info (kernel has no resctrl filesystem (not in {fs})), CPU lacks rdt_a/cat_l3 in {cpuinfo} flags", s.Reason);
        File.WriteAllText(fs, "nodev\tresctrl\n");
        File.WriteAllText(cpuinfo, "flags\t\t: fpu rdt_a cat_l3 mba\n");
        (s, _) = Resctrl.Probe(missing, filesystems: fs, cpuinfo: cpuinfo);
        Assert.Equal($"resctrl: no {missing}/info (resctrl is in {fs} but not mounted (mount -t resctrl resctrl {missing})), CPU has rdt_a and cat_l3", s.Reason);
    }

    [Fact]
    public void Isolating_writes_the_groups_ways_and_bandwidth_narrows_the_default_and_moves_the_thread()
    {
        var info = FakeResctrl();
        using var p = new BusyProcess(threads: 0);
        var groups = new ResctrlGroups(info, mbPercent: 20);

        var outcome = groups.Isolate(p.Pid, 1);

        var group = Path.Join(_root, "safehaven-llc-1");
        Assert.Equal(group, groups.GroupPath(1));
        Assert.Equal("L3:0=180;1=180\nMB:0=20;1=20\n", File.ReadAllText(Path.Join(group, "schemata")));
        Assert.Equal("L3:0=7f;1=7f\n", File.ReadAllText(Path.Join(_root, "schemata")));
        // A copy of the tree keeps the last write only: the thread written there is the process's own (one thread).
        Assert.Equal(p.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), File.ReadAllText(Path.Join(group, "tasks")));
        Assert.True(outcome.Succeeded, outcome.Error);
        Assert.Equal(["check", "schemata", "tasks", "verify"], outcome.PhasesNs.Keys);

        var released = groups.Release(p.Pid, 1);
        Assert.Equal(p.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), File.ReadAllText(Path.Join(_root, "tasks")));
        Assert.True(released.Succeeded, released.Error);
        // The copy's tasks file still lists a thread (only the kernel empties it): a group that still holds one is kept.
        Assert.True(Directory.Exists(group));
    }

    [Fact]
    public void Hostile_slots_and_a_foreign_group_on_the_ways_are_refused_before_anything_is_written()
    {
        var info = FakeResctrl();
        Directory.CreateDirectory(Path.Join(_root, "other\ntenant"));
        File.WriteAllText(Path.Join(_root, "other\ntenant", "schemata"), "L3:0=400;1=001\n");
        var groups = new ResctrlGroups(info);
        using var p = new BusyProcess(threads: 0);

        foreach (var slot in new[] { -1, 2, int.MaxValue })
        {
            var bad = groups.Isolate(p.Pid, slot);
            Assert.False(bad.Succeeded);
            Assert.Contains($"LLC group {slot} does not exist here (0..1)", bad.Error, StringComparison.Ordinal);
        }
        var clash = groups.Isolate(p.Pid, 0);
        Assert.False(clash.Succeeded);
        // The foreign name reaches the message with its control character replaced: it cannot forge a log line.
        Assert.Equal("resctrl group 'other?tenant' uses ways 400 of L3 domain 0, which overlap the isolated group's 600", clash.Error);
        Assert.Equal(["info", "other\ntenant"], Directory.EnumerateDirectories(_root).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal("L3:0=7ff;1=7ff\nMB:0=100;1=100\n", File.ReadAllText(Path.Join(_root, "schemata")));
        Assert.Throws<ArgumentException>(() => new ResctrlGroups(info with { Root = _root + "/../etc" }));
    }

    [SkippableFact]
    public void A_real_resctrl_group_holds_the_process_until_released()
    {
        var (support, info) = Resctrl.Probe();
        Skip.IfNot(support.Available, support.Reason);
        using var p = new BusyProcess(threads: 2);
        var groups = new ResctrlGroups(info!);
        var outcome = groups.Isolate(p.Pid, 0);
        Assert.True(outcome.Succeeded, outcome.Error);
        Assert.True(groups.Release(p.Pid, 0).Succeeded);
        Assert.False(Directory.Exists(groups.GroupPath(0)));
    }

    // 11 ways, two L3 domains, MBA: two isolated groups of 2 ways (600 and 180), the default keeps 7f.
    private ResctrlInfo FakeResctrl()
    {
        Directory.CreateDirectory(Path.Join(_root, "info", "L3"));
        Directory.CreateDirectory(Path.Join(_root, "info", "MB"));
        File.WriteAllText(Path.Join(_root, "info", "L3", "cbm_mask"), "7ff\n");
        File.WriteAllText(Path.Join(_root, "info", "L3", "min_cbm_bits"), "1\n");
        File.WriteAllText(Path.Join(_root, "info", "L3", "num_closids"), "16\n");
        File.WriteAllText(Path.Join(_root, "schemata"), "L3:0=7ff;1=7ff\nMB:0=100;1=100\n");
        File.WriteAllText(Path.Join(_root, "tasks"), "");
        var (s, info) = Resctrl.Probe(_root);
        Assert.True(s.Available, s.Reason);
        Assert.Equal("resctrl at " + _root + ": 2 groups of 2 of 11 ways, MBA", s.Reason);
        return info!;
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
