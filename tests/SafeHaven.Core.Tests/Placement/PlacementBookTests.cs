using SafeHaven.Core.Placement;

namespace SafeHaven.Core.Tests.Placement;

public sealed class PlacementBookTests
{
    private readonly PlacementBook _book = new();

    internal static ActuatorInfo Actuator(string id, string host, string pool = "", string dc = "dc1", params string[] levels) =>
        new(id, dc, host, new HashSet<string>(levels, StringComparer.Ordinal), CpuList.Parse(pool));

    [Fact]
    public void ReserveCore_hands_out_the_lowest_free_cpu_once()
    {
        var a = Actuator("a1", "h1", "2-3", levels: Levels.Core);

        Assert.Equal("2", _book.ReserveCore(a, "e1")?.Cpus.ToString());
        Assert.Equal("3", _book.ReserveCore(a, "e2")?.Cpus.ToString());
        Assert.Null(_book.ReserveCore(a, "e3"));
        Assert.Equal("e1", _book.Holder("a1", 2));
        Assert.Equal("e2", _book.Holder("a1", 3));
        Assert.Null(_book.Holder("a1", 4));
        Assert.Equal(2, _book.HeldCount);
    }

    [Fact]
    public void ReserveCore_gives_an_entity_its_own_cpu_back()
    {
        var a = Actuator("a1", "h1", "2-3", levels: Levels.Core);
        _book.ReserveCore(a, "e1");
        _book.ReserveCore(a, "e2");

        Assert.Equal("3", _book.ReserveCore(a, "e2")?.Cpus.ToString());
        Assert.Equal(2, _book.HeldCount);
    }

    [Fact]
    public void Release_frees_every_slot_of_the_entity_only()
    {
        var a = Actuator("a1", "h1", "2-3", levels: Levels.Core);
        var t = Actuator("t1", "h2", levels: Levels.Container);
        _book.ReserveCore(a, "e1");
        _book.ReserveCore(a, "e2");
        Assert.NotNull(_book.ReserveHost(t, "e1"));

        _book.Release("e1");

        Assert.Null(_book.Holder("a1", 2));
        Assert.Equal("e2", _book.Holder("a1", 3));
        Assert.Equal(1, _book.HeldCount);
        Assert.Equal("2", _book.ReserveCore(a, "e4")?.Cpus.ToString());
        Assert.NotNull(_book.ReserveHost(t, "e5"));
        _book.Release("unknown");
        Assert.Equal(3, _book.HeldCount);
    }

    [Fact]
    public void ReserveHost_is_one_entity_per_host_and_idempotent()
    {
        var t = Actuator("t1", "h2", levels: Levels.Container);

        Assert.NotNull(_book.ReserveHost(t, "e1"));
        Assert.NotNull(_book.ReserveHost(t, "e1"));
        Assert.Null(_book.ReserveHost(t, "e2"));
        Assert.Equal(1, _book.HeldCount);
    }

    [Fact]
    public void Releasing_a_reservation_frees_only_a_slot_that_booking_took()
    {
        var a = Actuator("a1", "h1", "2-3", levels: Levels.Core);
        var first = _book.ReserveCore(a, "e1")!;
        var again = _book.ReserveCore(a, "e1")!;
        Assert.True(first.Fresh);
        Assert.False(again.Fresh);

        _book.Release("e1", again);
        Assert.Equal("e1", _book.Holder("a1", 2));

        _book.Release("e2", first);
        Assert.Equal("e1", _book.Holder("a1", 2));

        _book.Release("e1", first);
        Assert.Null(_book.Holder("a1", 2));
        Assert.Equal(0, _book.HeldCount);
    }

    [Fact]
    public void Empty_pool_has_no_core_slot() =>
        Assert.Null(_book.ReserveCore(Actuator("a1", "h1", "", levels: Levels.Core), "e1"));

    [Fact]
    public void OnHost_matches_datacenter_host_and_level_lowest_id_first()
    {
        _book.Upsert(Actuator("z", "h1", levels: [Levels.Core, Levels.Container]));
        _book.Upsert(Actuator("b", "h1", levels: Levels.Core));
        _book.Upsert(Actuator("a", "h1", dc: "dc2", levels: Levels.Core));
        _book.Upsert(Actuator("c", "h2", levels: Levels.Core));

        Assert.Equal("b", _book.OnHost("dc1", "h1", Levels.Core)?.ActuatorId);
        Assert.Equal("z", _book.OnHost("dc1", "h1", Levels.Container)?.ActuatorId);
        Assert.Equal("a", _book.OnHost("dc2", "h1", Levels.Core)?.ActuatorId);
        Assert.Null(_book.OnHost("dc1", "h1", Levels.Vm));
        Assert.Null(_book.OnHost("dc1", "h3", Levels.Core));
    }

    [Fact]
    public void Upsert_replaces_by_id()
    {
        _book.Upsert(Actuator("a1", "h1", "2", levels: Levels.Core));
        _book.Upsert(Actuator("a1", "h1", "4-5", levels: Levels.Core));

        var a = Assert.Single(_book.Actuators);
        Assert.Equal("4-5", a.IsolationPool.ToString());
        Assert.Same(a, _book.Find("a1"));
        Assert.Null(_book.Find("a2"));
    }
}
