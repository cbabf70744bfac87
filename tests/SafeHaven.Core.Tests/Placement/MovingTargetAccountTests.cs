using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Tests.Placement;

/// <summary>
/// The overhead account of moving-target moves (what the old scheduler's metrics proved, per entity now): moves,
/// failures, skips, pre-emptions, time moved and downtime, per hour.
/// </summary>
public sealed class MovingTargetAccountTests
{
    private const long T0 = 1_700_000_000_000_000_000;

    private static IsolationResult R(string id, EntityRef e, string level, string status, int ms, Dictionary<string, long>? phases = null, bool dryRun = false) => new()
    {
        commandId = id, entity = e, level = level, status = status, actuator = "a", startedAtNs = T0, finishedAtNs = T0 + (ms * 1_000_000L),
        phases = phases ?? [], dryRun = dryRun, error = status == ResultStatus.Succeeded ? null : "no",
    };

    [Fact]
    public void Moves_failures_skips_preemptions_time_moved_and_downtime_per_entity_per_hour()
    {
        var p = new EntityRef { datacenter = "dc1", host = "h1", pid = 42 };
        var vm = new EntityRef { datacenter = "dc1", host = "h2", vm = "v1" };
        var c = new EntityRef { datacenter = "dc1", host = "h1", container = "c1" };
        var account = new MovingTargetAccount();
        foreach (var r in new[]
        {
            R("mtd-core-a-1", p, Levels.Core, ResultStatus.Succeeded, 25),
            R("mtd-core-a-2", p, Levels.Core, ResultStatus.Succeeded, 35),
            R("mtd-core-a-2", p, Levels.Core, ResultStatus.Succeeded, 35),
            R("mtd-core-a-3", p, Levels.Core, ResultStatus.Rejected, 1),
            R("mtd-core-a-4", p, Levels.Core, ResultStatus.Skipped, 0),
            R("mtd-core-a-2-release", p, Levels.Core, ResultStatus.Succeeded, 1),
            R("mtd-core-a-5", p, Levels.Core, ResultStatus.Succeeded, 99, dryRun: true),
            R("c-h1:1:r1-core", p, Levels.Core, ResultStatus.Succeeded, 999),
            R("mtd-vm-b-1", vm, Levels.Vm, ResultStatus.Succeeded, 1500, new() { ["switchover"] = 8_000_000, ["precopy"] = 900_000_000 }),
            R("mtd-vm-b-1" + Actions.ReceiveIdSuffix, vm, Levels.Vm, ResultStatus.Succeeded, 1700, new() { ["switchover"] = 9_000_000 }),
            R("mtd-ct-c-1", c, Levels.Container, ResultStatus.Succeeded, 900,
                new() { ["prepare"] = 100_000_000, ["dump"] = 200_000_000, ["transfer"] = 10_000_000, ["restore"] = 300_000_000, ["verify"] = 50_000_000 }),
        })
        {
            account.Add(r);
        }

        var rows = account.Report(T0, T0 + 1_800_000_000_000).ToDictionary(r => r.Entity);

        Assert.Equal(["container/c1", "dc1/h1/pid/42", "vm/v1"], rows.Keys.Order(StringComparer.Ordinal));
        var core = rows["dc1/h1/pid/42"];
        Assert.Equal((2, 1, 1, 1), (core.Moves, core.Failures, core.Skipped, core.Preempted));
        Assert.Equal(0.060, core.MovedSeconds, 9);
        Assert.Equal(0, core.DowntimeSeconds);
        Assert.Equal(4, core.MovesPerHour, 9);
        Assert.Equal(0.120, core.MovedSecondsPerHour, 9);
        var v = rows["vm/v1"];
        Assert.Equal((1, 1.5, 0.008), (v.Moves, v.MovedSeconds, v.DowntimeSeconds));
        Assert.Equal(0.016, v.DowntimeSecondsPerHour, 9);
        // A container is stopped from its freeze (dump) until restored: prepare and verify run while it runs elsewhere.
        Assert.Equal(0.510, rows["container/c1"].DowntimeSeconds, 9);
        Assert.Equal(T0, account.FirstNs);
    }

    [Fact]
    public void An_empty_window_reports_zero_rates()
    {
        var account = new MovingTargetAccount();
        account.Add(R("mtd-core-a-1", new EntityRef { datacenter = "dc1", host = "h1", pid = 42 }, Levels.Core, ResultStatus.Succeeded, 5));
        var row = Assert.Single(account.Report(T0, T0));
        Assert.Equal((1, 0.0, 0.0), (row.Moves, row.MovesPerHour, row.DowntimeSecondsPerHour));
    }
}
