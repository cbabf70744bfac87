using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Tests.Placement;

/// <summary>On-demand against static isolation, from ledger and inventory records (issue 14, utilisation accounting).</summary>
public sealed class UtilisationAccountTests
{
    private const long S = 1_000_000_000;
    private const long T0 = 1_800_000_000 * S;

    [Fact]
    public void A_core_slot_held_ten_seconds_of_a_hundred_costs_a_twentieth_of_static_isolation_of_two_groups()
    {
        var a = new UtilisationAccount();
        a.OnEntity(Process(1, tenant: "blue"));
        a.OnEntity(Process(2, tenant: null, group: "pgid:2"));
        a.OnSlot(Slot("h#cpu:3", "core", "3", T0 + 20 * S, held: true, LedgerEvents.Reserve));
        a.OnSlot(Slot("h#cpu:3", "core", "3", T0 + 21 * S, held: true, LedgerEvents.Hold));
        a.OnSlot(Slot("h#cpu:3", "core", "3", T0 + 30 * S, held: false, LedgerEvents.Free));

        var core = a.Report(T0, T0 + 100 * S).Levels.Single(l => l.Level == Levels.Core);
        Assert.Equal(1, core.Isolations);
        Assert.Equal(10.0, core.OnDemandUnitSeconds, 6);
        Assert.Equal(2, core.StaticUnits);
        Assert.Equal(200.0, core.StaticUnitSeconds, 6);
        Assert.Equal(0.05, core.Ratio, 6);
        Assert.Equal(1, core.PeakUnits);
    }

    [Fact]
    public void Overlapping_slots_peak_together_and_a_slot_still_held_counts_to_the_window_end_clipped_at_its_start()
    {
        var a = new UtilisationAccount();
        a.OnSlot(Slot("h#cpu:2-3", "core", "2-3", T0 - 10 * S, held: true, LedgerEvents.Reserve));
        a.OnSlot(Slot("h#cpu:1", "core", "1", T0 + 5 * S, held: true, LedgerEvents.Reserve));
        a.OnSlot(Slot("h#cpu:1", "core", "1", T0 + 15 * S, held: false, LedgerEvents.Free));
        a.OnSlot(Slot("wait:x", "core", null, T0 + 16 * S, held: true, LedgerEvents.Wait));

        var core = a.Report(T0, T0 + 20 * S).Levels.Single(l => l.Level == Levels.Core);
        Assert.Equal(2, core.Isolations);
        Assert.Equal(2 * 20.0 + 10.0, core.OnDemandUnitSeconds, 6);
        Assert.Equal(3, core.PeakUnits);
    }

    [Fact]
    public void Machine_levels_count_hosts_and_groups_are_counted_once_however_many_members()
    {
        var a = new UtilisationAccount();
        a.OnEntity(Process(1, tenant: "blue"));
        a.OnEntity(Process(2, tenant: "blue"));
        a.OnEntity(new EntityState { entityId = "dc/h/container/c1", kind = "container", entity = new EntityRef { datacenter = "dc", host = "h", container = "c1" }, updatedAtNs = T0 });
        a.OnEntity(new EntityState { entityId = "dc/h", kind = "actuator", entity = new EntityRef { datacenter = "dc", host = "h" }, updatedAtNs = T0 });
        a.OnSlot(Slot("h2#host", "container", null, T0, held: true, LedgerEvents.Reserve));
        a.OnSlot(Slot("h2#host", "container", null, T0 + 4 * S, held: false, LedgerEvents.Free));

        var r = a.Report(T0, T0 + 8 * S);
        Assert.Equal(2, r.MonitoredGroups);
        var container = r.Levels.Single(l => l.Level == Levels.Container);
        Assert.Equal("host", container.Unit);
        Assert.Equal(4.0, container.OnDemandUnitSeconds, 6);
        Assert.Equal(16.0, container.StaticUnitSeconds, 6);
        Assert.Equal(0, r.Levels.Single(l => l.Level == Levels.Vm).Isolations);
    }

    [Fact]
    public void Intermediate_levels_are_listed_only_when_used_each_in_units_of_its_own()
    {
        var a = new UtilisationAccount();
        a.OnEntity(Process(1, tenant: "blue"));
        Assert.Equal([Levels.Core, Levels.Container, Levels.Vm], a.Report(T0, T0 + 10 * S).Levels.Select(l => l.Level));

        a.OnSlot(Slot("h#numa:1", Levels.Numa, "4-7", T0 + 2 * S, held: true, LedgerEvents.Reserve));
        a.OnSlot(Slot("h#numa:1", Levels.Numa, "4-7", T0 + 6 * S, held: false, LedgerEvents.Free));
        a.OnSlot(Slot("h#llc:0", Levels.Llc, null, T0 + 1 * S, held: true, LedgerEvents.Reserve));
        var r = a.Report(T0, T0 + 10 * S);

        Assert.Equal([Levels.Core, Levels.Llc, Levels.Numa, Levels.Container, Levels.Vm], r.Levels.Select(l => l.Level));
        var numa = r.Levels.Single(l => l.Level == Levels.Numa);
        // A node is one unit however many CPUs it has: static isolation would give each group a node of its own.
        Assert.Equal(("node", 4.0, 10.0), (numa.Unit, numa.OnDemandUnitSeconds, numa.StaticUnitSeconds));
        var llc = r.Levels.Single(l => l.Level == Levels.Llc);
        Assert.Equal(("llc-group", 9.0, 1), (llc.Unit, llc.OnDemandUnitSeconds, llc.PeakUnits));
    }

    [Fact]
    public void An_empty_window_is_refused() =>
        Assert.Throws<ArgumentException>(() => new UtilisationAccount().Report(T0, T0));

    private static EntityState Process(int pid, string? tenant, string? group = null) => new()
    {
        entityId = $"dc/h/pid/{pid}", kind = "process", entity = new EntityRef { datacenter = "dc", host = "h", pid = pid }, tenant = tenant,
        attributes = group is null ? [] : new Dictionary<string, string> { ["group"] = group }, updatedAtNs = T0,
    };

    private static SlotRecord Slot(string id, string level, string? cpus, long at, bool held, string @event) => new()
    {
        slot = id, actuator = "h", level = level, cpus = cpus, group = held ? "tenant:blue" : null, @event = @event, reason = "", writer = "p", updatedAtNs = at,
        members = held ? [new SlotMember { entityId = "dc/h/pid/1", entity = new EntityRef { datacenter = "dc", host = "h", pid = 1 }, scope = "core", status = "held", source = "0", target = "1" }] : [],
    };
}
