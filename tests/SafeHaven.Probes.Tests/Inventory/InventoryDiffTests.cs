using SafeHaven.Probes.Inventory;
using SafeHaven.Probes.Proc;
using SafeHaven.Schemas;

namespace SafeHaven.Probes.Tests.Inventory;

public sealed class InventoryDiffTests
{
    private static readonly ProbeOptions Options = new() { Datacenter = "dc1", HostId = "h1" };
    private static readonly HostTopology Topology = new("0-3", ["0-1", "2-3"], new Dictionary<int, string> { [0] = "0-3" });

    private static EntityState Proc(int pid, string cpus = "0-3", long now = 1, long start = 5, string? vm = null) =>
        InventoryBuilder.Process(Options, new ProcessFacts(
            new DiscoveredProcess(new ProcessIdentity(pid, "p", start, null) { Vm = vm }, "/", null, null), 1000, cpus), TenantSelectors.Empty, now);

    private static Dictionary<string, EntityState> View(params EntityState[] states) => states.ToDictionary(s => s.entityId);

    [Fact]
    public void First_view_is_all_adds_then_nothing_while_only_time_moves()
    {
        var host = InventoryBuilder.Host(Options, Topology, TenantSelectors.Empty, new Dictionary<string, string> { ["cs"] = "ok" }, 1);
        var first = View(host, Proc(10), Proc(11));
        var changes = InventoryDiff.Compute(new Dictionary<string, EntityState>(), first);
        Assert.Equal(["dc1/h1", "dc1/h1/pid/10", "dc1/h1/pid/11"], changes.Select(c => c.Key));
        Assert.All(changes, c => Assert.NotNull(c.State));

        var later = View(InventoryBuilder.Host(Options, Topology, TenantSelectors.Empty, new Dictionary<string, string> { ["cs"] = "ok" }, 99),
            Proc(10, now: 99), Proc(11, now: 99));
        Assert.Empty(InventoryDiff.Compute(first, later));
    }

    [Fact]
    public void Changes_and_tombstones()
    {
        var before = View(Proc(10), Proc(11), Proc(12));
        var after = View(Proc(10, cpus: "3"), Proc(12, start: 6), Proc(13));   // 10 isolated, 12 reused, 11 gone, 13 new

        var changes = InventoryDiff.Compute(before, after);

        Assert.Equal(
            [("dc1/h1/pid/10", "3"), ("dc1/h1/pid/12", "0-3"), ("dc1/h1/pid/13", "0-3"), ("dc1/h1/pid/11", (string?)null)],
            changes.Select(c => (c.Key, c.State?.cpus)));
        Assert.Equal(6, changes[1].State!.entity.startTime);
        Assert.Null(changes[3].State);
    }

    [Fact]
    public void Any_fact_counts_as_a_change()
    {
        var a = Proc(10);
        var b = Proc(10);
        Assert.True(InventoryDiff.SameFacts(a, b));
        b.attributes["unit"] = "x.service";
        Assert.False(InventoryDiff.SameFacts(a, b));
        Assert.False(InventoryDiff.SameFacts(a, Proc(10, vm: "guest")));
        var c = Proc(10);
        c.counterStatus["cycles"] = "unsupported";
        Assert.False(InventoryDiff.SameFacts(a, c));
        var d = Proc(10);
        d.tenant = "acme";
        Assert.False(InventoryDiff.SameFacts(a, d));
    }
}
