using SafeHaven.Schemas;

namespace SafeHaven.Core.Placement;

// An inventory tombstone while a move of a VM or container (a detection's or a schedule's) is outstanding (docs/LEDGER.md,
// "Moved members"). The source host's tombstone is ambiguous: the entity may have died, or this very move took it away (a migrated
// VM or a restored container disappears from its source host's inventory before the agent's result can arrive). So the
// member keeps the target slot as `leaving`, and the move settles it: success holds the slot under the entity's new id,
// anything else frees it, and an expiry asks the target host's inventory. The slot is never lost (given to another group
// while the entity may be arriving) and never leaked (kept under an id no tombstone would ever name again).
public sealed partial class Planner
{
    // What an exit does to one membership: a record, or null when nothing changes (already leaving: its move settles it).
    private SlotRecord? ExitOf(SlotRecord slot, SlotMember m, long now)
    {
        if (m.status == MemberStatus.Leaving)
        {
            return null;
        }
        if (m.status == MemberStatus.Pending && slot.level is Levels.Vm or Levels.Container && !IsInboundBooking(m))
        {
            var why = $"{m.entityId} went away from its host while move {m.commandId} to {slot.slot} is outstanding: "
                + "it may have left by that move, so it keeps the slot as leaving until the move's result or expiry settles it";
            return book.Update(slot.slot, Copy(m, MemberStatus.Leaving), LedgerEvents.Leave, why, now);
        }
        return book.Remove(slot.slot, m.entityId, LedgerEvents.Leave, $"{m.entityId} exited", now);
    }

    // Moving-target moves only: a detection's move may lead an entity back to a host whose late tombstone of it (from when it
    // left there) is still on its way, and the two cannot be told apart; its success then holds the slot until that id goes.
    // A tombstone of the id a VM or container has on the target host of its outstanding move: it arrived and went away, or the
    // incoming copy was dropped. Nothing of it lives in the target slot, so the slot is freed now; the move's late result then
    // finds nothing (before, a late success booked the slot for an entity whose tombstone had already come: a leak).
    private List<SlotRecord> GoneOnArrival(string entityId, long now)
    {
        var arrived = book.Held.Where(s => s.level is Levels.Vm or Levels.Container)
            .SelectMany(s => s.members.Where(m => IsMovingTarget(m) && m.status is MemberStatus.Pending or MemberStatus.Leaving && m.entityId != entityId)
                .Select(m => (Slot: s, Member: m)))
            .Where(x => ArrivalOf(x.Slot, x.Member) is { } a && EntityIds.Of(a) == entityId).ToList();
        return [.. arrived.Select(x => book.Remove(x.Slot.slot, x.Member.entityId, LedgerEvents.Leave,
            $"{entityId} went away on the target host of move {x.Member.commandId}: nothing of it is in {x.Slot.slot}", now))];
    }

    // A leaving member whose move stayed unanswered after the re-send: the target host's inventory decides. If it lists the
    // entity, the move took it there and it holds the slot under its new id (that id's tombstone frees it later); otherwise
    // it went away and the slot is freed.
    private PlanDecision SettleDeparted(SlotRecord slot, SlotMember m, long now)
    {
        if (ArrivalOf(slot, m) is { } arrived && EntityIds.Of(arrived) is var arrivedId && book.Tenants.Knows(arrivedId))
        {
            var held = Copy(m, MemberStatus.Held);
            (held.entity, held.entityId) = (arrived, arrivedId);
            var why = $"{m.commandId}: no result after {m.attempts} sends, but {arrivedId} is in its target host's inventory: it arrived and holds {slot.slot}";
            return Decision(null, [why], book.Update(slot.slot, held, LedgerEvents.Expire, why, now, replacing: m.entityId));
        }
        var gone = $"{m.commandId}: no result after {m.attempts} sends; {m.entityId} went away from its host and is not in its target host's inventory";
        return Decision(null, [gone + $": slot {slot.slot} freed"], book.Remove(slot.slot, m.entityId, LedgerEvents.Expire, gone, now));
    }
}
