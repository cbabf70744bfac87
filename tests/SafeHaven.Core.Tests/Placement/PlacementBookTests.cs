using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Tests.Placement;

public sealed class PlacementBookTests
{
    private readonly PlacementBook _book = new("p1");

    internal static ActuatorInfo Actuator(string id, string host, string pool = "", string dc = "dc1", params string[] levels) =>
        new(id, dc, host, new HashSet<string>(levels, StringComparer.Ordinal), CpuList.Parse(pool));

    internal static SlotMember Member(string entityId, string? detectionId = null, string status = MemberStatus.Pending) => new()
    {
        entityId = entityId, entity = new EntityRef { datacenter = "dc1", host = "h1", pid = 1 }, detectionId = detectionId ?? "d-" + entityId,
        rule = "r1", scope = Scopes.Core, status = status, commandId = "c-" + entityId, source = "a1", target = "2", deadlineNs = 100, attempts = 1,
    };

    private SlotRecord Book(ActuatorInfo a, string entity, string group) =>
        _book.Add(_book.ReserveCore(a, group) ?? throw new InvalidOperationException("no slot"), Member(entity), "test", 1);

    [Fact]
    public void ReserveCore_hands_out_the_lowest_free_cpu_to_each_group_once()
    {
        var a = Actuator("a1", "h1", "2-3", levels: Levels.Core);

        Assert.Equal(LedgerEvents.Reserve, Book(a, "e1", "g1").@event);
        Assert.Equal("3", _book.ReserveCore(a, "g2")?.Cpus.ToString());
        Book(a, "e2", "g2");
        Assert.Null(_book.ReserveCore(a, "g3"));
        Assert.Equal("g1", _book.Holder("a1", 2));
        Assert.Equal("g2", _book.Holder("a1", 3));
        Assert.Null(_book.Holder("a1", 4));
        Assert.Equal(2, _book.HeldCount);
    }

    [Fact]
    public void A_second_member_of_a_group_joins_its_slot_and_another_group_never_does()
    {
        var a = Actuator("a1", "h1", "2", levels: Levels.Core);
        Book(a, "e1", "g1");

        var join = _book.ReserveCore(a, "g1");
        Assert.Equal(("2", false), (join?.Cpus.ToString(), join?.Fresh));
        var record = _book.Add(join!, Member("e2"), "same tenant", 2);
        Assert.Equal((LedgerEvents.Join, 2), (record.@event, record.members.Count));
        Assert.Null(_book.ReserveCore(a, "g2"));
        Assert.Throws<InvalidOperationException>(() => _book.Add(join! with { Group = "g2" }, Member("e3"), "wrong", 3));
    }

    [Fact]
    public void The_last_member_out_frees_the_slot()
    {
        var a = Actuator("a1", "h1", "2", levels: Levels.Core);
        var slot = Book(a, "e1", "g1").slot;
        _book.Add(_book.ReserveCore(a, "g1")!, Member("e2"), "join", 2);

        Assert.Equal(LedgerEvents.Leave, _book.Remove(slot, "e1", LedgerEvents.Leave, "exited", 3).@event);
        Assert.Equal("g1", _book.Holder("a1", 2));
        var free = _book.Remove(slot, "e2", LedgerEvents.Leave, "exited", 4);
        Assert.Equal((LedgerEvents.Free, null, 0), (free.@event, free.group, free.members.Count));
        Assert.Null(_book.Holder("a1", 2));
        Assert.Equal("2", _book.ReserveCore(a, "g2")?.Cpus.ToString());
    }

    [Fact]
    public void ReserveHost_is_keyed_by_host_and_held_by_one_group()
    {
        var t1 = Actuator("t1", "h2", levels: Levels.Vm);
        var t2 = Actuator("t2", "h2", levels: Levels.Container);
        _book.Add(_book.ReserveHost(t1, Levels.Vm, "g1")!, Member("e1"), "move", 1);

        Assert.Null(_book.ReserveHost(t2, Levels.Container, "g2"));
        Assert.Equal(false, _book.ReserveHost(t2, Levels.Container, "g1")?.Fresh);
        Assert.Equal("dc1/h2#host", _book.Held.Single().slot);
    }

    [Fact]
    public void Applying_the_records_it_wrote_rebuilds_the_same_ledger()
    {
        var a = Actuator("a1", "h1", "2-4", levels: Levels.Core);
        var log = new List<SlotRecord> { Book(a, "e1", "g1"), Book(a, "e2", "g2") };
        log.Add(_book.Add(_book.ReserveCore(a, "g1")!, Member("e3"), "join", 5));
        log.Add(_book.Update(log[0].slot, Member("e1", status: MemberStatus.Held), LedgerEvents.Hold, "ok", 6));
        log.Add(_book.Remove(log[1].slot, "e2", LedgerEvents.Leave, "failed", 7));

        var rebuilt = new PlacementBook("p2");
        log.ForEach(rebuilt.Apply);

        Assert.Equal(_book.Render(), rebuilt.Render());
        Assert.Equal(1, rebuilt.HeldCount);
        Assert.True(rebuilt.HasDetection("d-e3"));
        Assert.False(rebuilt.HasDetection("d-e2"));
        Assert.Equal("e3", rebuilt.ByCommand("c-e3")?.Member.entityId);
    }
}
