using SafeHaven.Core.CrossDc;
using SafeHaven.Core.Placement;
using SafeHaven.Core.Tests.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Tests.CrossDc;

/// <summary>
/// The target datacenter's planner and a slot it booked for another datacenter's move (docs/SCALING.md §4): the member
/// stands under the source planner's receive command id, which this planner never sent and cannot send again.
/// </summary>
public sealed class InboundBookingTests
{
    private static readonly EntityRef Vm = new() { datacenter = "dc1", host = "h1", vm = "v1" };
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    // dc2's planner with one free hypervisor, and dc1's move booked on it as LedgerSlots books it.
    internal static (PlannerHarness Dc2, SlotMember Booked) Booking()
    {
        var dc2 = new PlannerHarness();
        var hv9 = PlacementBookTests.Actuator("hv9-agent", "hv9", "", "dc2", Levels.Vm);
        dc2.Book.Upsert(hv9);
        var slot = dc2.Book.ReserveHost(hv9, Levels.Vm, "vm:dc1/h1/v1")!;
        var member = new SlotMember
        {
            entityId = EntityIds.Of(Vm), entity = Vm, detectionId = "h1:1:r1", rule = null, scope = Scopes.Machine, status = MemberStatus.Pending,
            commandId = CrossDcPolicy.ReceiveId("h1:1:r1", Levels.Vm, 3), source = "hv9-agent", target = "hv9-agent",
            deadlineNs = PlannerHarness.StartNs + (long)Lease.TotalNanoseconds, attempts = 1,
        };
        dc2.Book.Add(slot, member, "booked for dc1's lease epoch 3", PlannerHarness.StartNs);
        return (dc2, member);
    }

    [Fact]
    public void A_booking_whose_receive_never_answers_gives_its_slot_back_at_expiry_and_sends_nothing()
    {
        var (dc2, booked) = Booking();
        dc2.Time.Advance(Lease);
        Assert.Empty(dc2.Planner.Expire()); // not before the deadline plus the grace

        dc2.Time.Advance(TimeSpan.FromSeconds(6));
        var expired = Assert.Single(dc2.Planner.Expire());

        // No command at all: before the fix the receive's id went to dc2's own agent as an isolate of dc1's VM.
        Assert.Null(expired.Command);
        Assert.Null(expired.Receive);
        // The booking is remembered first (a late answer of the receive may still come: LateReceiveTests), then the slot freed.
        Assert.Equal(PlacementBook.ReceivePrefix + booked.commandId, expired.Records[0].slot);
        var record = expired.Records[1];
        Assert.Equal(2, expired.Records.Count);
        Assert.Equal(("dc2/hv9#host", LedgerEvents.Free), (record.slot, record.@event));
        Assert.Empty(record.members);
        Assert.Contains(booked.commandId!, record.reason, StringComparison.Ordinal);
        Assert.Contains("another datacenter's move", record.reason, StringComparison.Ordinal);
        Assert.Null(dc2.Book.Slot("dc2/hv9#host"));
        // Nothing outstanding is left to expire, and the host takes another group.
        dc2.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Empty(dc2.Planner.Expire());
        Assert.NotNull(dc2.Book.ReserveHost(dc2.Book.Actuators.Single(), Levels.Vm, "vm:dc2/h7/v2"));
    }

    [Fact]
    public void A_booking_whose_receive_failed_gives_its_slot_back_and_plans_nothing_for_the_other_datacenters_entity()
    {
        var (dc2, booked) = Booking();
        var failed = new IsolationResult
        {
            commandId = booked.commandId!, entity = Vm, level = Levels.Vm, status = ResultStatus.Rejected, error = "past its deadline",
            phases = new Dictionary<string, long>(StringComparer.Ordinal),
        };

        var decision = dc2.Planner.OnResult(failed, "hv9-agent");

        Assert.Null(decision.Command);
        var record = Assert.Single(decision.Records);
        Assert.Equal(LedgerEvents.Free, record.@event);
        Assert.Null(dc2.Book.Slot("dc2/hv9#host"));
        Assert.Null(dc2.Book.WaitingOf(EntityIds.Of(Vm)));
    }

    [Fact]
    public void A_booking_whose_receive_succeeded_holds_the_host()
    {
        var (dc2, booked) = Booking();
        var ok = new IsolationResult
        {
            commandId = booked.commandId!, entity = Vm, level = Levels.Vm, status = ResultStatus.Succeeded,
            phases = new Dictionary<string, long>(StringComparer.Ordinal),
        };

        Assert.Equal(LedgerEvents.Hold, Assert.Single(dc2.Planner.OnResult(ok, "hv9-agent").Records).@event);
        dc2.Time.Advance(Lease + TimeSpan.FromMinutes(1));
        Assert.Empty(dc2.Planner.Expire());
        Assert.Equal(MemberStatus.Held, dc2.Book.Slot("dc2/hv9#host")!.members.Single().status);
    }
}
