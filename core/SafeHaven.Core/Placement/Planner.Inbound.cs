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
    // inside the lease), so nobody will complete the booking: the member leaves, and the last one out frees the slot.
    private PlanDecision ExpireInbound(SlotRecord slot, SlotMember m, long now)
    {
        var why = $"{m.commandId}: no result by the lease's expiry plus the grace; the receive of another datacenter's move, which this "
            + $"planner cannot send again: {m.entityId}'s booking in slot {slot.slot} given back";
        return Decision(null, [why], book.Remove(slot.slot, m.entityId, LedgerEvents.Expire, why, now));
    }

    // The receive failed or was rejected: the move never landed here. The booking is given back; climbing a level or retrying
    // would plan another datacenter's entity in this one.
    private PlanDecision OnInboundFailed(SlotRecord slot, SlotMember m, IsolationResult result, long now)
    {
        var why = $"receive {m.commandId} of another datacenter's move {result.status}: {result.error}; {m.entityId}'s booking in slot {slot.slot} given back";
        return Decision(null, [why], book.Remove(slot.slot, m.entityId, LedgerEvents.Leave, why, now));
    }
}
