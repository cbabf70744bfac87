using SafeHaven.Schemas;

namespace SafeHaven.Core.Placement;

// The answer of another datacenter's receive after this (target) planner gave its booking back (docs/LEDGER.md, "Late
// receives"): its agent ran the receive in time, then was down past the lease and the grace. A sealed success means the
// workload runs on the booked host, so the host is held for it again; where another group took the host meanwhile, nobody
// is evicted: the conflict is recorded and shown, the host takes nobody else, and the workload holds it once that group leaves.
public sealed partial class Planner
{
    private PlanDecision OnLateReceive(IsolationResult result, string? fromActuator)
    {
        var id = result.commandId;
        if (book.GivenBackOf(id) is not { } given)
        {
            return Refused(LateReceiveOutcomes.RefusedUnknown,
                $"result for receive {id}: no booking of it is live or remembered here (never booked here, or already settled): nothing changes");
        }
        var m = given.members[0];
        var slotKey = PlacementBook.SlotOf(given);
        if (fromActuator is null)
        {
            // Without a seal anyone on the bus could hold any host: a given-back booking is restored on the agent's word only.
            return Refused(LateReceiveOutcomes.RefusedUnsealed, $"result for receive {id}, whose booking in slot {slotKey} was given back, is not "
                + "sealed (no actuator key is trusted here): the host is not held again on an unauthenticated record");
        }
        if (fromActuator != m.source)
        {
            return Refused(LateReceiveOutcomes.RefusedSealer,
                $"late result for receive {id} sealed by actuator '{fromActuator}', not by its own actuator '{m.source}'", deadLetter: true);
        }
        if (given.@event == LedgerEvents.Conflict)
        {
            return Refused(LateReceiveOutcomes.RefusedDuplicate,
                $"result for receive {id}: already recorded as a conflict in slot {slotKey} ({m.entityId}): nothing changes");
        }
        if (Mismatch(result, given, m) is { } mismatch)
        {
            return Refused(LateReceiveOutcomes.RefusedMismatch, $"late result for receive {id} sealed by '{fromActuator}' {mismatch}", deadLetter: true);
        }
        var now = NowNs();
        if (result.status != ResultStatus.Succeeded)
        {
            var why = $"late result of receive {id}: {result.status}: {result.error}; the move never landed in slot {slotKey}, "
                + "whose booking was already given back: forgotten";
            return new PlanDecision(null, [why], Ledger: [book.Forget(id, why, now)!]) { Late = new LateReceive(LateReceiveOutcomes.Settled, why) };
        }
        var booked = Copy(m, m.status);
        booked.target = m.source; // the record kept the slot in target; the member's target is its agent again
        var current = book.Slot(slotKey);
        if (current is not null && current.group != given.group)
        {
            return OnLateConflict(given, Arrived(given, booked), current, fromActuator, now);
        }
        var held = Arrived(current ?? given, booked);
        var how = $"late result of receive {id}: succeeded, sealed by {fromActuator}, after its booking was given back";
        return HoldAgain(given, held, current, $"{held.entityId} isolated at level {given.level} in slot {slotKey} ({how}){Renamed(m, held)}",
            LateReceiveOutcomes.Held, now);
    }

    // Another group holds the host now. Evicting it would undo an isolation booked in good faith, silently: instead the
    // conflict is a ledger record that claims the host (PlacementBook.ReserveHost then gives it to nobody else, not even to
    // more of the holder's group) and a failed result for the SIEM; the arrived workload holds the host once the group leaves.
    private PlanDecision OnLateConflict(SlotRecord given, SlotMember arrived, SlotRecord current, string sealer, long now)
    {
        var id = arrived.commandId!;
        var slotKey = PlacementBook.SlotOf(given);
        var others = string.Join(", ", current.members.Select(x => x.entityId).Order(StringComparer.Ordinal));
        var why = $"ledger conflict: receive {id} (sealed by {sealer}) says {arrived.entityId} of group {given.group} arrived in slot {slotKey} "
            + $"after its booking was given back, and group {current.group} holds that slot now ({others}): nobody is evicted; the host "
            + $"takes no other workload, and is held for {arrived.entityId} once group {current.group} leaves; an operator should move one of them";
        var notice = new IsolationResult
        {
            commandId = id + ConflictSuffix, entity = arrived.entity, level = given.level, status = ResultStatus.Failed, error = why,
            startedAtNs = now, finishedAtNs = now, phases = new Dictionary<string, long>(StringComparer.Ordinal), actuator = "planner",
            dryRun = settings.DryRun,
        };
        return new PlanDecision(null, [why], Ledger: [book.Conflict(given, arrived, why, now)])
        {
            Late = new LateReceive(LateReceiveOutcomes.Conflict, why) { Notice = notice },
        };
    }

    /// <summary>The suffix of the id of the SIEM result naming a late receive's conflict (<c>RECEIVEID-conflict</c>).</summary>
    public const string ConflictSuffix = "-conflict";

    // Once a second (Expire): a host in conflict whose other group left is held for the workload that arrived there late.
    private List<PlanDecision> ResolveConflicts(long now)
    {
        var decisions = new List<PlanDecision>();
        foreach (var given in book.Conflicts.ToList())
        {
            var slotKey = PlacementBook.SlotOf(given);
            var current = book.Slot(slotKey);
            if (current is not null && current.group != given.group)
            {
                continue;
            }
            var held = Copy(given.members[0], MemberStatus.Held);
            held.target = held.source;
            decisions.Add(HoldAgain(given, held, current, $"group that held slot {slotKey} left: {held.entityId}, which arrived there late by "
                + $"receive {held.commandId}, holds it now (conflict resolved)", LateReceiveOutcomes.Resolved, now));
        }
        return decisions;
    }

    // The slot (free, or its group's) held for the arrived workload, then the remembered booking forgotten: in that order, so a
    // crash between the two leaves the hold, and the replayed result is a duplicate.
    private PlanDecision HoldAgain(SlotRecord given, SlotMember held, SlotRecord? current, string why, string outcome, long now)
    {
        var slotKey = PlacementBook.SlotOf(given);
        List<SlotRecord> ledger = [];
        if (current?.members.Any(x => x.entityId == held.entityId) == true)
        {
            why = $"{held.entityId} is already a member of slot {slotKey}: one entity, one member ({why})";
        }
        else
        {
            var slot = new Reservation(slotKey, current?.actuator ?? given.actuator, current?.level ?? given.level, CpuList.Empty, given.group!, current is null);
            ledger.Add(book.Add(slot, held, why, now, LedgerEvents.Hold));
        }
        ledger.Add(book.Forget(held.commandId, why, now)!);
        return new PlanDecision(null, [why], Ledger: ledger) { Late = new LateReceive(outcome, why) };
    }

    // A duplicate of a receive's answer whose member is already held (in time, or late): nothing changes; a booking still
    // remembered for it (a crash between a give-back and its slot's record) is forgotten.
    private PlanDecision AlreadyHeldInbound(IsolationResult result)
    {
        var why = $"result for receive {result.commandId}, whose member is already held: nothing to do";
        var stale = book.Forget(result.commandId, why, NowNs());
        return new PlanDecision(null, [why], Ledger: stale is null ? null : [stale])
        {
            Late = new LateReceive(LateReceiveOutcomes.RefusedDuplicate, why),
        };
    }

    // The workload a remembered booking (or conflict) was for went away from the target host: the booking ends with it.
    private PlanDecision? ArrivedAndGone(string entityId, long now)
    {
        if (book.GivenBackCount == 0)
        {
            return null;
        }
        var gone = book.GivenBack.Where(g => (g.@event == LedgerEvents.Conflict ? g.members[0].entityId
            : ArrivalOf(g, g.members[0]) is { } a ? EntityIds.Of(a) : null) == entityId).ToList();
        if (gone.Count == 0)
        {
            return null;
        }
        var why = $"{entityId} went away: the booking remembered for its late receive ({string.Join(", ", gone.Select(g => g.members[0].commandId))}) ends";
        return new PlanDecision(null, [why], Ledger: [.. gone.Select(g => book.Forget(g.members[0].commandId, why, now)!)])
        {
            Late = new LateReceive(LateReceiveOutcomes.Gone, why),
        };
    }

    // What of a late result disagrees with its booking (the record's fields may only refuse, never grant).
    private static string? Mismatch(IsolationResult result, SlotRecord given, SlotMember m)
    {
        if (result.actuator != m.source)
        {
            return $"names actuator '{result.actuator}', not the booked '{m.source}'";
        }
        if (result.level != given.level)
        {
            return $"is of level {result.level}, the booking of level {given.level}";
        }
        string named;
        try
        {
            named = EntityIds.Of(result.entity);
        }
        catch (ArgumentException e)
        {
            return $"names an invalid entity: {e.Message}";
        }
        return named == m.entityId ? null : $"names entity {named}, the booking {m.entityId}";
    }

    private static PlanDecision Refused(string outcome, string why, bool deadLetter = false) =>
        new(null, [why]) { DeadLetter = deadLetter ? why : null, Late = new LateReceive(outcome, why) };
}
