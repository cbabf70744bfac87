using SafeHaven.Schemas;
using DetectionRecord = SafeHaven.Schemas.Detection;

namespace SafeHaven.Core.Placement;

// Where moving-target moves meet detections: detections win (docs/LEDGER.md, "Moving-target moves").
public sealed partial class Planner
{
    /// <summary>True while a moving-target move of <paramref name="entityId"/> waits for its result.</summary>
    public bool MovePending(string entityId) =>
        book.MembershipsOf(entityId).Any(x => IsMovingTarget(x.Member) && x.Member.status != MemberStatus.Held);

    // A moving-target move's result: success holds the new slot and leaves the old one; a failure leaves the new
    // one and the entity stays where it was. Never escalates: a periodic move is not an isolation. A detection of
    // the entity that came while the move was in flight is planned now that its position is known.
    private PlanDecision OnMoveResult(SlotRecord slot, SlotMember m, IsolationResult result, long now)
    {
        List<SlotRecord> ledger = [];
        var entityId = m.entityId;
        string reason;
        // An agent that already ran a re-sent move answers "skipped" (duplicate): the move happened. A dry run's
        // "skipped" moved nothing.
        var moved = result.status == ResultStatus.Succeeded || (result.status == ResultStatus.Skipped && !result.dryRun);
        if (!moved)
        {
            reason = $"moving-target move {m.commandId} {result.status}: {result.error}; " + (m.status == MemberStatus.Leaving
                ? $"{m.entityId} already went away from its host: slot {slot.slot} freed"
                : $"{m.entityId} stays where it was");
            ledger.Add(book.Remove(slot.slot, m.entityId, LedgerEvents.Leave, reason, now));
        }
        else
        {
            // A VM or container now runs on the target host, under that host's id (the one its detections name): its
            // next move starts from there.
            var held = Arrived(slot, m);
            entityId = held.entityId;
            reason = $"{m.entityId} moved by moving-target move {m.commandId} to {slot.slot}"
                + (m.status == MemberStatus.Leaving ? $" (its source host's tombstone was this move taking it away; it is {entityId} now)" : "");
            ledger.Add(book.Update(slot.slot, held, LedgerEvents.Hold, reason, now, replacing: m.entityId));
            foreach (var (old, om) in book.Held.SelectMany(s => s.members.Select(x => (s, x)))
                .Where(x => x.s.slot != slot.slot && x.x.rule == m.rule && Same(x.x.entity, m.entity)).ToList())
            {
                ledger.Add(book.Remove(old.slot, om.entityId, LedgerEvents.Leave, $"moved on to {slot.slot}", now));
            }
        }
        return Resume(m.entityId, entityId, [reason], ledger);
    }

    // A detection that waited for a moving-target move of its entity, once that move is settled (its result came, or
    // expiry kept it where it is): it adopts the slot the schedule holds the entity in (now under
    // <paramref name="currentId"/>), or is planned afresh from its scope's level.
    private PlanDecision Resume(string waitingId, string currentId, List<string> reasons, List<SlotRecord> ledger)
    {
        if (book.WaitingOf(waitingId) is not { } waiting || !Scopes.All.Contains(waiting.members[0].scope))
        {
            return new PlanDecision(null, reasons, Ledger: ledger);
        }
        var d = AsDetection(waiting.members[0]);
        var level = Scopes.MinimumLevel(d.scope);
        if (Adopt(d, currentId) is { } adopted)
        {
            ledger.Add(book.Unwait(waitingId, "adopted the slot its moving-target schedule held it in", NowNs())!);
            ledger.AddRange(adopted.Records);
            return new PlanDecision(null, [.. reasons, .. adopted.Reasons], Ledger: ledger);
        }
        return PlanFrom(d, waitingId, level, reasons, ledger);
    }

    // A detection of an entity a schedule holds at a level that satisfies it: the detection takes the membership
    // over, so the schedule stops moving it (detections win). While a move of it is in flight, where it will be is
    // unknown: the detection waits in the ledger and is planned when the move's result arrives (OnMoveResult).
    // Null when the entity holds nothing by a schedule at that level.
    private PlanDecision? Adopt(DetectionRecord detection, string entityId)
    {
        var now = NowNs();
        if (MovePending(entityId))
        {
            var why = $"{entityId} is being moved by a moving-target schedule: detection {detection.detectionId} waits for that move's result, then takes its slot";
            var waiting = new SlotMember
            {
                entityId = entityId, entity = detection.entity, detectionId = detection.detectionId, rule = detection.rule, scope = detection.scope,
                status = MemberStatus.Waiting, commandId = null, source = "", target = "", deadlineNs = 0, attempts = 0,
            };
            return new PlanDecision(null, [why], Ledger: [book.Wait(waiting, GroupOf(detection.entity, entityId), why, now)]);
        }
        if (book.MembershipsOf(entityId).FirstOrDefault(x => IsMovingTarget(x.Member) && x.Member.status == MemberStatus.Held
                && Levels.All.Contains(x.Slot.level) && Scopes.Breaks(detection.scope, x.Slot.level)) is not { Slot: not null } held)
        {
            return null;
        }
        var adopted = Copy(held.Member, MemberStatus.Held);
        adopted.detectionId = detection.detectionId;
        adopted.rule = detection.rule;
        adopted.scope = detection.scope;
        var reason = $"{entityId} already sits alone in {held.Slot.slot} by moving-target schedule {held.Member.rule}: detection {detection.detectionId} adopts it and the schedule stops moving it";
        return new PlanDecision(null, [reason], Ledger: [book.Update(held.Slot.slot, adopted, LedgerEvents.Hold, reason, now)]);
    }

    // A core detection with no free CPU takes the lowest one that only moving-target entities hold: they leave the
    // ledger and get a release command (sent before the detection's isolate, on the same actuator's partition).
    private Reservation? Preempt(ActuatorInfo host, string group)
    {
        foreach (var cpu in host.IsolationPool.Cpus.Order())
        {
            if (book.Slot(PlacementBook.CoreSlot(host.ActuatorId, cpu)) is { } s && s.members.Count == 1
                && IsMovingTarget(s.members[0]) && s.members[0].status == MemberStatus.Held)
            {
                var m = s.members[0];
                var why = $"pre-empted by a detection: detections win over moving-target moves; {m.entityId} returns to the shared CPUs";
                var release = NewCommand(null, m.entity, m.source, Levels.Core, Actions.Release, m.target, s.group, [why]);
                release.commandId = m.commandId + "-release";
                _preempted = (book.Remove(s.slot, m.entityId, LedgerEvents.Leave, why, NowNs()), release);
                return book.ReserveCore(host, group);
            }
        }
        return null;
    }
}
