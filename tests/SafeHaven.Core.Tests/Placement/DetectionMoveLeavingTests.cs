using SafeHaven.Core.Placement;
using SafeHaven.Schemas;
using static SafeHaven.Core.Tests.Placement.DetectionMoveRenameTests;

namespace SafeHaven.Core.Tests.Placement;

/// <summary>
/// The source host's tombstone of a VM or container whose detection-driven move is still outstanding (the likelier order
/// for a container: CRIU's dump ends the source process before the restore answers): the member keeps the target slot as
/// leaving, and the move settles it (docs/LEDGER.md, "Moved members"). Before, the tombstone freed the target slot while
/// the workload was arriving there, and the success that followed found nothing to hold.
/// </summary>
public sealed class DetectionMoveLeavingTests
{
    [Theory]
    [InlineData(Levels.Vm)]
    [InlineData(Levels.Container)]
    public void A_source_tombstone_before_the_moves_success_keeps_the_slot_and_the_success_holds_it_under_the_new_id(string level)
    {
        var h = Hosts(level);
        var command = h.Isolate(On(level, "h1"), Scopes.Machine, "h1:1:r1");

        // It leaves h1 (the move taking it away) before the agent's answer arrives.
        var gone = Tombstone(h, EntityIds.Of(On(level, "h1")));

        Assert.Equal(MemberStatus.Leaving, Assert.Single(Assert.Single(gone.Records).members).status);
        var other = h.Isolate(On(level, "h1", "y"), Scopes.Machine, "h1:2:r1");
        Assert.Equal("hv3", other.target); // h2 is still booked for it

        var held = h.Planner.OnResult(PlannerHarness.Result(command, ResultStatus.Succeeded));

        var member = Assert.Single(Assert.Single(held.Records).members);
        Assert.Equal((EntityIds.Of(On(level, "h2")), MemberStatus.Held), (member.entityId, member.status));
        var exit = Tombstone(h, EntityIds.Of(On(level, "h2")));
        Assert.Equal(("dc1/h2#host", LedgerEvents.Free), (Assert.Single(exit.Records).slot, exit.Records[0].@event));
    }

    [Theory]
    [InlineData(Levels.Vm)]
    [InlineData(Levels.Container)]
    public void A_source_tombstone_then_a_failed_move_frees_the_slot_and_tries_no_other_level(string level)
    {
        var h = Hosts(level);
        var command = h.Isolate(On(level, "h1"), Scopes.Machine, "h1:1:r1");
        Tombstone(h, EntityIds.Of(On(level, "h1")));

        var failed = h.Planner.OnResult(PlannerHarness.Result(command, ResultStatus.Failed));

        Assert.Null(failed.Command);
        Assert.Equal(LedgerEvents.Free, Assert.Single(failed.Records).@event);
        Assert.Null(h.Book.Slot("dc1/h2#host"));
    }
}
