using SafeHaven.Schemas;

namespace SafeHaven.Core.Placement;

// A VM or container a move took to another host (a detection's or a schedule's) runs there under that host's id, and its
// ledger member follows it (docs/LEDGER.md, "Moved members"): the source host's tombstone is the move, not an exit, and frees
// nothing; the target host's tombstone of the new id frees the slot; its group carries over (PlacementBook.MovedGroupOf).
public sealed partial class Planner
{
    // The entity as it runs on the host of the slot its move books (a VM or container takes that host's id there, in that
    // host's datacenter: a move may cross one); null for a host-local slot or an actuator no longer known.
    private EntityRef? ArrivalOf(SlotRecord slot, SlotMember m) =>
        slot.level is Levels.Vm or Levels.Container && book.Find(slot.actuator) is { } target
            ? new EntityRef
            {
                datacenter = target.Datacenter, host = target.Host, vm = m.entity.vm, container = m.entity.container, pid = m.entity.pid, comm = m.entity.comm,
            }
            : null;

    // The member once its move succeeded, held: a VM or container (a detection's or a schedule's) runs on the target host
    // under that host's id, and the ledger follows it, so the source host's tombstone (this move taking it away) frees
    // nothing and the target host's tombstone of the new id frees the slot. Its group carries over to the new id
    // (PlacementBook.MovedGroupOf). Kept under its id if another member of the slot already has the new one.
    private SlotMember Arrived(SlotRecord slot, SlotMember m)
    {
        var held = Copy(m, MemberStatus.Held);
        if (ArrivalOf(slot, m) is { } arrived && EntityIds.Of(arrived) is var arrivedId
            && !slot.members.Any(x => x.entityId == arrivedId && x.commandId != m.commandId))
        {
            (held.entity, held.entityId) = (arrived, arrivedId);
        }
        return held;
    }

    // A move's success for a member whose entity the slot already holds under its new id (an earlier detection of it moved
    // it there, and this one was booked under the id it had before): one entity, one member, so this one leaves.
    private PlanDecision? AlreadyArrived(SlotRecord slot, SlotMember m, IsolationResult result, long now)
    {
        var id = ArrivalOf(slot, m) is { } arrived ? EntityIds.Of(arrived) : m.entityId;
        if (id == m.entityId || !slot.members.Any(x => x.entityId == id))
        {
            return null;
        }
        Settle(m.detectionId);
        var why = $"{m.entityId} moved to slot {slot.slot} by {m.commandId} ({result.status}), where it is already a member as {id}: this member leaves";
        return Decision(null, [why], book.Remove(slot.slot, m.entityId, LedgerEvents.Leave, why, now));
    }

    // What the ledger's reason says of a member that moved host (Arrived): the id it is known by from now on.
    private static string Renamed(SlotMember before, SlotMember after) =>
        after.entityId == before.entityId ? "" : $"; it runs on {after.entity.host} as {after.entityId} now";
}
