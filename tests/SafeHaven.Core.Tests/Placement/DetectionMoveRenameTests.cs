using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Tests.Placement;

/// <summary>
/// A VM or container that a detection moved to another host runs there under that host's entity id, and the ledger
/// member follows it (docs/LEDGER.md, "Moved members"): the source host's tombstone (it left that host) frees nothing,
/// the target host's tombstone of its new id frees the slot, and its suspect group carries over to the new id.
/// </summary>
public sealed class DetectionMoveRenameTests
{
    internal static PlannerHarness Hosts(string level) =>
        new PlannerHarness().With("hv1", "h1", "", level).With("hv2", "h2", "", level).With("hv3", "h3", "", level);

    internal static EntityRef On(string level, string host, string name = "x") =>
        level == Levels.Vm ? new() { datacenter = "dc1", host = host, vm = name } : new() { datacenter = "dc1", host = host, container = name };

    // Isolates the entity on h1 at machine scope and answers its move: it now runs on h2.
    private static IsolationCommand MoveToH2(PlannerHarness h, string level)
    {
        var command = h.Isolate(On(level, "h1"), Scopes.Machine, "h1:1:r1");
        Assert.Equal((level, "hv1", "hv2"), (command.level, command.source, command.target));
        var held = h.Planner.OnResult(PlannerHarness.Result(command, ResultStatus.Succeeded));
        Assert.Equal(LedgerEvents.Hold, Assert.Single(held.Records).@event);
        return command;
    }

    // As the service does with an inventory tombstone: forget the entity, then take it out of the ledger.
    internal static PlanDecision Tombstone(PlannerHarness h, string entityId)
    {
        h.Book.Tenants.Remove(entityId);
        return h.Planner.OnGone(entityId);
    }

    [Theory]
    [InlineData(Levels.Vm)]
    [InlineData(Levels.Container)]
    public void The_source_tombstone_after_a_detection_driven_move_keeps_the_target_slot_until_the_target_hosts_record_goes(string level)
    {
        var h = Hosts(level);
        MoveToH2(h, level);
        var newId = EntityIds.Of(On(level, "h2"));
        var group = (level == Levels.Vm ? "vm:" : "container:") + "dc1/h1/x";

        // It left h1 by the move: h1's probe writes its tombstone.
        var gone = Tombstone(h, EntityIds.Of(On(level, "h1")));

        Assert.Empty(gone.Records);
        var member = Assert.Single(Assert.IsType<SlotRecord>(h.Book.Slot("dc1/h2#host")).members);
        Assert.Equal((newId, "h2", MemberStatus.Held), (member.entityId, member.entity.host, member.status));
        Assert.Equal(group, h.Book.Slot("dc1/h2#host")!.group);
        // Another suspect of h1 is not placed beside it: h2 is still held, h3 is next.
        var other = h.Isolate(On(level, "h1", "y"), Scopes.Machine, "h1:2:r1");
        Assert.Equal("hv3", other.target);
        // A detection of it where it now runs finds it already isolated: no second move.
        var again = h.Plan(PlannerHarness.Detection(On(level, "h2"), Scopes.Machine, "h2:3:r1"));
        Assert.Null(again.Command);
        Assert.Contains("already held in slot dc1/h2#host", Assert.Single(again.Reasons), StringComparison.Ordinal);

        // It goes away on h2: h2's tombstone of its new id frees the slot.
        var exit = Tombstone(h, newId);

        Assert.Equal(("dc1/h2#host", LedgerEvents.Free), (Assert.Single(exit.Records).slot, exit.Records[0].@event));
        Assert.Null(h.Book.Slot("dc1/h2#host"));
    }

    [Theory]
    [InlineData(Levels.Vm)]
    [InlineData(Levels.Container)]
    public void A_moved_member_keeps_its_group_under_the_new_id_also_after_a_planner_rebuilds_the_ledger(string level)
    {
        var h = Hosts(level);
        MoveToH2(h, level);
        var moved = On(level, "h2");
        var group = h.Book.Slot("dc1/h2#host")!.group;

        // A planner that takes over knows the group from the ledger alone (the inventory says nothing of it).
        var rebuilt = new PlacementBook("r");
        h.Book.Held.ToList().ForEach(rebuilt.Apply);
        var next = new Planner(rebuilt, h.Time, new PlannerSettings(TimeSpan.FromSeconds(5)));

        Assert.Equal(group, h.Planner.GroupOf(moved, EntityIds.Of(moved)));
        Assert.Equal(group, next.GroupOf(moved, EntityIds.Of(moved)));
        Assert.Equal(h.Book.Render(), rebuilt.Render());
    }

    [Theory]
    [InlineData(Levels.Vm)]
    [InlineData(Levels.Container)]
    public void A_quiet_signal_of_the_moved_entity_where_it_runs_frees_its_host_slot(string level)
    {
        var h = Hosts(level);
        MoveToH2(h, level);
        var quiet = PlannerHarness.Detection(On(level, "h2"), Scopes.Machine, "h2:9:r1:quiet");
        quiet.kind = DetectionKinds.Quiet;

        var released = h.Planner.Plan(quiet);

        Assert.Equal(("dc1/h2#host", LedgerEvents.Free), (Assert.Single(released.Records).slot, released.Records[0].@event));
        Assert.Null(released.Command);
    }

    [Fact]
    public void A_late_success_after_the_move_went_unanswered_renames_the_member_too()
    {
        var h = Hosts(Levels.Vm);
        var command = h.Isolate(On(Levels.Vm, "h1"), Scopes.Machine, "h1:1:r1");
        h.Time.Advance(TimeSpan.FromSeconds(11));
        Assert.Single(h.Planner.Expire());
        h.Time.Advance(TimeSpan.FromSeconds(11));
        Assert.True(Assert.Single(Assert.Single(h.Planner.Expire()).Records).members[0].unconfirmed);

        h.Planner.OnResult(PlannerHarness.Result(command, ResultStatus.Succeeded));

        var member = Assert.Single(h.Book.Slot("dc1/h2#host")!.members);
        Assert.Equal((EntityIds.Of(On(Levels.Vm, "h2")), false), (member.entityId, member.unconfirmed));
        Assert.Empty(Tombstone(h, EntityIds.Of(On(Levels.Vm, "h1"))).Records);
        Assert.NotNull(h.Book.Slot("dc1/h2#host"));
    }

    [Fact]
    public void A_move_to_a_host_of_another_datacenter_takes_that_datacenters_id()
    {
        var h = new PlannerHarness().With("c1", "h1", "", Levels.Container);
        h.Book.Upsert(PlacementBookTests.Actuator("c9", "h9", dc: "dc2", levels: [Levels.Container]));
        var command = h.Isolate(On(Levels.Container, "h1"), Scopes.Machine, "h1:1:r1");

        h.Planner.OnResult(PlannerHarness.Result(command, ResultStatus.Succeeded));

        Assert.Equal("dc2/h9/container/x", Assert.Single(h.Book.Slot("dc2/h9#host")!.members).entityId);
        Assert.Equal(LedgerEvents.Free, Assert.Single(Tombstone(h, "dc2/h9/container/x").Records).@event);
    }

    [Fact]
    public void A_detection_that_still_names_the_host_it_left_does_not_book_its_new_host_twice()
    {
        var h = Hosts(Levels.Container);
        MoveToH2(h, Levels.Container);

        // Detected on h1 before it left, delivered after the move (and the cooldown): the old id holds nothing, but h2
        // holds the container.
        h.Time.Advance(TimeSpan.FromSeconds(11));
        var stale = h.Plan(PlannerHarness.Detection(On(Levels.Container, "h1"), Scopes.Machine, "h1:2:r1"));

        Assert.NotEqual("hv2", stale.Command?.target);
        Assert.Single(h.Book.Slot("dc1/h2#host")!.members);
        Assert.Contains(stale.Reasons, r => r.Contains("h2 already holds the entity", StringComparison.Ordinal));
    }
}
