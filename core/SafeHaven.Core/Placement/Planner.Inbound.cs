using SafeHaven.Schemas;

namespace SafeHaven.Core.Placement;

// Slots this (target) planner booked for another datacenter's move (docs/SCALING.md §4): the member stands under the source
// planner's receive command id. That command is the source's, signed with its key under its action lease, with a deadline
// inside the lease: this planner never sent it and cannot send it again, and the entity is not one it may plan for.
public sealed partial class Planner
{
    /// <summary>
    /// True for a member booked for another datacenter's move (its command id is a receive's): only its receive's
    /// result or its expiry settles it, and neither plans anything for the entity here.
    /// </summary>
    public static bool IsInboundBooking(SlotMember member)
    {
        ArgumentNullException.ThrowIfNull(member);
        // No member of this planner's own stands under a receive id: its moves book the isolate's id.
        return member.commandId?.EndsWith(Actions.ReceiveIdSuffix, StringComparison.Ordinal) == true;
    }

    // Past the lease's expiry and the grace with no result: the agent rejects any copy of the receive now (its deadline was
    // inside the lease), so nobody will complete the booking: the member leaves, and the last one out frees the slot. The
    // receive may still have run in time (its agent then down past the lease and the grace): the booking is remembered
    // (PlacementBook.GiveBack), written first, so that its late answer finds where the workload went (OnLateReceive).
    private List<PlanDecision> ExpireInbound(SlotRecord slot, SlotMember m, long now)
    {
        var why = $"{m.commandId}: no result by the lease's expiry plus the grace; the receive of another datacenter's move, which this "
            + $"planner cannot send again: {m.entityId}'s booking in slot {slot.slot} given back";
        var decisions = new List<PlanDecision>();
        if (book.GivenBack.Where(r => r.@event == LedgerEvents.Expire).ToList() is { Count: >= PlacementBook.MaxGivenBack } remembered)
        {
            // Conflicts are never dropped: each keeps a workload's host from a third group until it is settled.
            var oldest = remembered[0];
            var dropped = $"receive {oldest.members[0].commandId}: forgotten, more than {PlacementBook.MaxGivenBack} given-back bookings "
                + $"remembered; a late success of it will not hold slot {PlacementBook.SlotOf(oldest)}";
            decisions.Add(new PlanDecision(null, [dropped], Ledger: [book.Forget(oldest.members[0].commandId, dropped, now)!])
            {
                Late = new LateReceive(LateReceiveOutcomes.Dropped, dropped),
            });
        }
        decisions.Add(new PlanDecision(null, [why], Ledger: [book.GiveBack(slot, m, why, now), book.Remove(slot.slot, m.entityId, LedgerEvents.Expire, why, now)]));
        return decisions;
    }

    // The receive failed or was rejected: the move never landed here. The booking is given back; climbing a level or retrying
    // would plan another datacenter's entity in this one.
    private PlanDecision OnInboundFailed(SlotRecord slot, SlotMember m, IsolationResult result, long now)
    {
        var why = $"receive {m.commandId} of another datacenter's move {result.status}: {result.error}; {m.entityId}'s booking in slot {slot.slot} given back";
        return Decision(null, [why], book.Remove(slot.slot, m.entityId, LedgerEvents.Leave, why, now));
    }
}
