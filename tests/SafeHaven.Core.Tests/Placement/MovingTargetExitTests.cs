using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Tests.Placement;

/// <summary>
/// An inventory tombstone while a moving-target move of a VM or container is outstanding (Planner.MovingTarget.Exit.cs,
/// docs/LEDGER.md): the source's tombstone keeps the member as leaving in the target slot until the move's result or
/// expiry settles it; the target's tombstone frees the slot at once; the slot is never given away nor leaked.
/// </summary>
public sealed class MovingTargetExitTests
{
    private static PlannerHarness Hypervisors(string level) =>
        new PlannerHarness().With("hv1", "h1", "", level).With("hv2", "h2", "", level).With("hv3", "h3", "", level);

    private static EntityRef On(string level, string host, string name = "v1") =>
        level == Levels.Vm ? new() { datacenter = "dc1", host = host, vm = name } : new() { datacenter = "dc1", host = host, container = name };

    private static IsolationCommand StartMove(PlannerHarness h, string level, string name = "v1")
    {
        var d = h.Planner.PlanMove(new MovingTargetMove("s", level, On(level, "h1", name), ["hv2"]));
        Assert.True(d.Command is not null, string.Join(" | ", d.Reasons));
        Assert.Equal("hv2", d.Command.target);
        return d.Command;
    }

    private static SlotMember Only(SlotRecord? slot) => Assert.Single(Assert.IsType<SlotRecord>(slot).members);

    [Theory]
    [InlineData(Levels.Vm)]
    [InlineData(Levels.Container)]
    public void The_source_tombstone_of_a_moving_entity_keeps_the_target_slot_and_a_late_success_holds_it_under_the_new_id(string level)
    {
        var h = Hypervisors(level);
        var move = StartMove(h, level);
        var log = new List<SlotRecord>();

        // The migration took it away from h1: h1's probe writes its tombstone before the agent's result arrives.
        var gone = h.Planner.OnGone(EntityIds.Of(On(level, "h1")));

        log.AddRange(gone.Records);
        Assert.Null(gone.Command);
        var target = h.Book.Slot(Assert.Single(gone.Records).slot);
        Assert.Equal((MemberStatus.Leaving, move.commandId), (Only(target).status, Only(target).commandId));
        Assert.Contains("kept as leaving in 1 until its move settles", Assert.Single(gone.Reasons), StringComparison.Ordinal);
        // Meanwhile the slot is nobody else's: another entity's schedule finds no free target there.
        var other = h.Planner.PlanMove(new MovingTargetMove("s", level, On(level, "h3", "v2"), ["hv2"]));
        Assert.Null(other.Command);
        Assert.Contains($"no free {level} target host", other.Skipped!.error, StringComparison.Ordinal);
        // A planner that takes over now rebuilds the same ledger, leaving member included.
        var rebuilt = new PlacementBook("r");
        h.Book.Held.ToList().ForEach(rebuilt.Apply);
        Assert.Equal(h.Book.Render(), rebuilt.Render());

        var result = h.Planner.OnResult(PlannerHarness.Result(move, ResultStatus.Succeeded));

        var held = Only(h.Book.Slot(target!.slot));
        Assert.Equal((MemberStatus.Held, EntityIds.Of(On(level, "h2")), "h2"), (held.status, held.entityId, held.entity.host));
        Assert.Contains("its source host's tombstone was this move taking it away", Assert.Single(result.Reasons), StringComparison.Ordinal);
        // Its exit on h2, later, frees the slot: nothing is kept under an id no tombstone names.
        Assert.Equal(LedgerEvents.Free, Assert.Single(h.Planner.OnGone(held.entityId).Records).@event);
        Assert.Equal(0, h.Book.HeldCount);
    }

    [Theory]
    [InlineData(ResultStatus.Failed)]
    [InlineData(ResultStatus.Rejected)]
    public void A_failed_move_of_an_entity_its_source_reported_gone_frees_the_target_slot(string status)
    {
        var h = Hypervisors(Levels.Vm);
        var move = StartMove(h, Levels.Vm);
        h.Planner.OnGone(EntityIds.Of(On(Levels.Vm, "h1")));

        var result = h.Planner.OnResult(PlannerHarness.Result(move, status, "qemu exited"));

        Assert.Equal(LedgerEvents.Free, Assert.Single(result.Records).@event);
        Assert.Contains("already went away from its host: slot dc1/h2#host freed", Assert.Single(result.Reasons), StringComparison.Ordinal);
        Assert.Equal(0, h.Book.HeldCount);
        // No retry and no climb for a schedule's move: nothing else went out.
        Assert.Null(result.Command);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_unanswered_move_of_a_leaving_entity_is_sent_again_then_settled_by_the_target_hosts_inventory(bool arrived)
    {
        var h = Hypervisors(Levels.Container);
        var move = StartMove(h, Levels.Container);
        h.Planner.OnGone(EntityIds.Of(On(Levels.Container, "h1")));
        var arrivedId = EntityIds.Of(On(Levels.Container, "h2"));
        if (arrived)
        {
            h.Book.Tenants.Set(arrivedId, "dc1", "h2", null);
        }

        h.Time.Advance(TimeSpan.FromSeconds(11));
        var resent = Assert.Single(h.Planner.Expire());
        Assert.Equal((move.commandId, Actions.Isolate), (resent.Command?.commandId, resent.Command?.action));
        Assert.Equal((MemberStatus.Leaving, 2), (Only(h.Book.Slot("dc1/h2#host")).status, Only(h.Book.Slot("dc1/h2#host")).attempts));
        h.Time.Advance(TimeSpan.FromSeconds(11));
        var settled = Assert.Single(h.Planner.Expire());

        Assert.Null(settled.Command);
        if (arrived)
        {
            var held = Only(h.Book.Slot("dc1/h2#host"));
            Assert.Equal((MemberStatus.Held, arrivedId), (held.status, held.entityId));
            Assert.Equal(LedgerEvents.Free, Assert.Single(h.Planner.OnGone(arrivedId).Records).@event);
        }
        else
        {
            Assert.Equal(LedgerEvents.Free, Assert.Single(settled.Records).@event);
            Assert.Contains("is not in its target host's inventory: slot dc1/h2#host freed", Assert.Single(settled.Reasons), StringComparison.Ordinal);
        }
        Assert.Equal(0, h.Book.HeldCount);
        Assert.Empty(h.Planner.Expire());
    }

    [Theory]
    [InlineData(ResultStatus.Succeeded)]
    [InlineData(ResultStatus.Failed)]
    public void A_tombstone_on_the_target_host_frees_the_slot_at_once_and_the_late_result_changes_nothing(string status)
    {
        var h = Hypervisors(Levels.Vm);
        var move = StartMove(h, Levels.Vm);

        // It arrived on h2 and went away there (or the incoming copy was dropped) before the source's result came.
        var gone = h.Planner.OnGone(EntityIds.Of(On(Levels.Vm, "h2")));

        Assert.Equal(LedgerEvents.Free, Assert.Single(gone.Records).@event);
        var late = h.Planner.OnResult(PlannerHarness.Result(move, status));
        Assert.Empty(late.Records);
        Assert.Equal(0, h.Book.HeldCount);
        // The freed slot serves the next move.
        Assert.NotNull(h.Planner.PlanMove(new MovingTargetMove("s", Levels.Vm, On(Levels.Vm, "h3", "v2"), ["hv2"])).Command);
    }

    [Fact]
    public void A_vm_held_on_its_target_by_an_earlier_move_leaves_that_slot_when_its_next_move_takes_it_away()
    {
        var h = Hypervisors(Levels.Vm);
        var vm = new MovingTargetMove("s", Levels.Vm, On(Levels.Vm, "h1"), []);
        h.Planner.OnResult(PlannerHarness.Result(h.Planner.PlanMove(vm).Command!, ResultStatus.Succeeded));
        Assert.Equal("dc1/h2#host", Assert.Single(h.Book.MembershipsOf(EntityIds.Of(On(Levels.Vm, "h2")))).Slot.slot);
        var next = h.Planner.PlanMove(vm).Command!;
        Assert.Equal(("hv2", "hv3"), (next.source, next.target));

        var gone = h.Planner.OnGone(EntityIds.Of(On(Levels.Vm, "h2")));

        // hv2 (where it was) is freed; hv3 (where it is going) is kept until the result.
        Assert.Equal([(LedgerEvents.Free, "dc1/h2#host"), (LedgerEvents.Leave, "dc1/h3#host")],
            gone.Records.Select(r => (r.@event, r.slot)).OrderBy(x => x.slot, StringComparer.Ordinal));
        h.Planner.OnResult(PlannerHarness.Result(next, ResultStatus.Succeeded));
        Assert.Equal(("dc1/h3#host", MemberStatus.Held), Assert.Single(h.Book.Held.SelectMany(s => s.members.Select(m => (s.slot, m.status)))));
    }

    [Fact]
    public void A_core_entity_that_exits_mid_move_frees_both_cpus_at_once()
    {
        // A process does not leave its host by a core move: its tombstone is its exit, and the late result finds nothing.
        var h = new PlannerHarness().With("h1-agent", "h1", "2-3", Levels.Core);
        var p = new EntityRef { datacenter = "dc1", host = "h1", pid = 42 };
        h.Planner.OnResult(PlannerHarness.Result(h.Planner.PlanMove(MovingTargetPlannerTests.CoreMove(p)).Command!, ResultStatus.Succeeded));
        var move = h.Planner.PlanMove(MovingTargetPlannerTests.CoreMove(p)).Command!;

        var gone = h.Planner.OnGone(EntityIds.Of(p));

        Assert.Equal([LedgerEvents.Free, LedgerEvents.Free], gone.Records.Select(r => r.@event));
        Assert.Empty(h.Planner.OnResult(PlannerHarness.Result(move, ResultStatus.Succeeded)).Records);
        Assert.Equal(0, h.Book.HeldCount);
    }
}
