using SafeHaven.Schemas;
using DetectionRecord = SafeHaven.Schemas.Detection;

namespace SafeHaven.Core.Placement;

// What moves a member through the ledger after it was booked: results, quiet signals, exits, expiry.
public sealed partial class Planner
{
    /// <summary>
    /// Takes an actuator's result. For an isolate: success holds the slot; failure takes the member out
    /// (the last one out frees the slot) and tries the next level up. For a release: the member leaves.
    /// Results of commands the ledger does not hold as outstanding change nothing.
    /// </summary>
    /// <param name="result">The result.</param>
    /// <param name="fromActuator">The actuator whose key sealed it, when results are authenticated; it must be the command's own.</param>
    public PlanDecision OnResult(IsolationResult result, string? fromActuator = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        // A member kept as held after expiry still waits for its command's answer; any other held member has it.
        if (book.ByCommand(result.commandId) is not { } found)
        {
            // Another datacenter's receive whose booking this planner gave back unanswered: it may have run after all.
            return CrossDc.CrossDcPolicy.IsReceiveId(result.commandId)
                ? OnLateReceive(result, fromActuator)
                : new PlanDecision(null, [$"result for command {result.commandId} that is not outstanding: nothing to do"]);
        }
        if (found.Member.status == MemberStatus.Held && !(found.Member.unconfirmed && !IsMovingTarget(found.Member)))
        {
            return IsInboundBooking(found.Member)
                ? AlreadyHeldInbound(result)
                : new PlanDecision(null, [$"result for command {result.commandId} that is not outstanding: nothing to do"]);
        }
        var (slot, m) = found;
        if (fromActuator is not null && fromActuator != m.source)
        {
            var forged = $"result for command {result.commandId} sealed by actuator '{fromActuator}', not by its own actuator '{m.source}'";
            return new PlanDecision(null, [forged]) { DeadLetter = forged };
        }
        var now = NowNs();
        if (IsMovingTarget(m))
        {
            return OnMoveResult(slot, m, result, now);
        }
        var ok = result.status is ResultStatus.Succeeded or ResultStatus.Skipped;
        if (!ok && IsInboundBooking(m))
        {
            return OnInboundFailed(slot, m, result, now);
        }
        if (!ok && m.status == MemberStatus.Leaving)
        {
            // Its source host's tombstone came, and the move did not take it away: it exited, so nothing is left to isolate.
            Settle(m.detectionId);
            var gone = $"{m.entityId} went away from its host and its move {m.commandId} {result.status}: {result.error}; slot {slot.slot} freed";
            return Decision(null, [gone], book.Remove(slot.slot, m.entityId, LedgerEvents.Leave, gone, now));
        }
        if (m.unconfirmed)
        {
            return OnLateResult(slot, m, result, ok, now);
        }
        if (m.status == MemberStatus.Releasing)
        {
            if (!ok)
            {
                // A release that failed leaves the entity where it is: keep the slot until it exits.
                var kept = Copy(m, MemberStatus.Held);
                return Decision(null, [$"release of {m.entityId} {result.status}: {result.error}; it keeps slot {slot.slot} until it exits"],
                    book.Update(slot.slot, kept, LedgerEvents.Hold, $"release {result.status}: {result.error}", now));
            }
            Settle(m.detectionId);
            var why = $"{m.entityId} released from slot {slot.slot} ({result.status})";
            return Decision(null, [why], book.Remove(slot.slot, m.entityId, LedgerEvents.Leave, why, now));
        }
        if (ok)
        {
            if (AlreadyArrived(slot, m, result, now) is { } duplicate)
            {
                return duplicate;
            }
            var held = Arrived(slot, m);
            var why = $"{m.entityId} isolated at level {slot.level} in slot {slot.slot} ({result.status}){Renamed(m, held)}";
            return Decision(null, [why], book.Update(slot.slot, held, LedgerEvents.Hold, why, now, replacing: m.entityId));
        }
        return OnIsolateFailed(slot, m, result, now);
    }

    // The answer to a command whose sends all expired: the ledger kept the member as held while the real state was
    // unknown, and now learns it. The agent gives each command id one outcome (its journal), so a late failure of an
    // isolate means the entity never moved: holding the slot for it would leave the suspect unisolated and the slot
    // lost until it exits.
    private PlanDecision OnLateResult(SlotRecord slot, SlotMember m, IsolationResult result, bool ok, long now)
    {
        var release = m.commandId?.EndsWith("-" + Actions.Release, StringComparison.Ordinal) == true;
        if (release && ok)
        {
            Settle(m.detectionId);
            var gone = $"{m.entityId} released from slot {slot.slot} (late result of {m.commandId}: {result.status})";
            return Decision(null, [gone], book.Remove(slot.slot, m.entityId, LedgerEvents.Leave, gone, now));
        }
        if (!release && ok && AlreadyArrived(slot, m, result, now) is { } duplicate)
        {
            return duplicate;
        }
        if (release || ok)
        {
            var held = release ? Copy(m, MemberStatus.Held) : Arrived(slot, m);
            var why = release
                ? $"late result: release of {m.entityId} {result.status}: {result.error}; it keeps slot {slot.slot} until it exits"
                : $"{m.entityId} isolated at level {slot.level} in slot {slot.slot} (late result of {m.commandId}: {result.status}){Renamed(m, held)}";
            return Decision(null, [why], book.Update(slot.slot, held, LedgerEvents.Hold, why, now, replacing: m.entityId));
        }
        return OnIsolateFailed(slot, m, result, now);
    }

    // An isolate that failed or was rejected: the member leaves (the last one out frees the slot) and the same level
    // is tried once more (a rejection) or the next level up.
    private PlanDecision OnIsolateFailed(SlotRecord slot, SlotMember m, IsolationResult result, long now)
    {
        Settle(m.detectionId);
        var reasons = new List<string> { $"level {slot.level}: actuator reported {result.status}: {result.error}" };
        List<SlotRecord> ledger = [book.Remove(slot.slot, m.entityId, LedgerEvents.Leave, reasons[0], now)];
        // A rejection means the agent never started the move (e.g. it was down past the deadline): the same
        // level is tried once more, under a new id, since the agent answers every copy of the old one alike.
        if (result.status == ResultStatus.Rejected && m.commandId?.EndsWith(RetryStep, StringComparison.Ordinal) == false)
        {
            reasons.Add($"rejected, so never started: level {slot.level} is tried once more");
            return PlanFrom(AsDetection(m), m.entityId, slot.level, reasons, ledger, wait: false, retry: true);
        }
        var next = NextLevel(m.scope, slot.level);
        if (next is null)
        {
            reasons.Add("no level above " + slot.level + ": entity stays where it is");
            return new PlanDecision(null, reasons, Ledger: ledger);
        }
        return PlanFrom(AsDetection(m), m.entityId, next, reasons, ledger, wait: false);
    }

    /// <summary>
    /// Entity exited (inventory tombstone or the probe's "gone"): it leaves every slot, with no command. A VM or container
    /// whose move (a detection's or a schedule's) is outstanding is kept in the move's target slot as <see cref="MemberStatus.Leaving"/>
    /// until the move settles, since it may have left by that move (see <c>ExitOf</c>).
    /// </summary>
    public PlanDecision OnGone(string entityId)
    {
        var now = NowNs();
        var memberships = book.MembershipsOf(entityId).ToList();
        memberships.ForEach(x => Settle(x.Member.detectionId));
        var ledger = memberships.Select(x => ExitOf(x.Slot, x.Member, now)).OfType<SlotRecord>().ToList();
        ledger.AddRange(GoneOnArrival(entityId, now));
        if (book.WaitingOf(entityId) is { } waiting)
        {
            Settle(waiting.members[0].detectionId);
            ledger.Add(book.Unwait(entityId, $"{entityId} exited", now)!);
        }
        var kept = ledger.Count(r => r.members.Any(m => m.entityId == entityId && m.status == MemberStatus.Leaving));
        List<string> reasons = ledger.Count == 0 ? [] : [$"{entityId} exited: left {ledger.Count - kept} slot(s)"
            + (kept == 0 ? "" : $"; kept as leaving in {kept} until its move settles")];
        // A booking remembered for a late receive (or its conflict) of the workload that went away ends with it.
        var late = ArrivedAndGone(entityId, now);
        if (late is not null)
        {
            ledger.AddRange(late.Records);
            reasons.AddRange(late.Reasons);
        }
        return new PlanDecision(null, reasons, Ledger: ledger) { Late = late?.Late };
    }

    /// <summary>
    /// Commands past their deadline plus the grace with no result: the first time, the same command id is
    /// sent again (an agent that ran it answers with what it did; one that never got it runs it now); after
    /// that the member is kept as held, so the slot is never given to another group while the real state is
    /// unknown, and it comes back when the entity exits. A slot booked for another datacenter's move (its member under
    /// that move's receive id, <see cref="IsInboundBooking"/>) is given back instead: this planner cannot send the receive.
    /// </summary>
    public IReadOnlyList<PlanDecision> Expire()
    {
        var now = NowNs();
        var graceNs = settings.Grace.Ticks * 100;
        var decisions = new List<PlanDecision>();
        foreach (var (slot, m) in book.Held.SelectMany(s => s.members.Select(m => (s, m))).ToList())
        {
            if (m.status == MemberStatus.Held || now <= m.deadlineNs + graceNs)
            {
                continue;
            }
            if (IsInboundBooking(m))
            {
                decisions.AddRange(ExpireInbound(slot, m, now));
                continue;
            }
            if (m.attempts >= 2 && m.status == MemberStatus.Leaving)
            {
                decisions.Add(SettleDeparted(slot, m, now));
                continue;
            }
            if (m.attempts >= 2)
            {
                var why = $"{m.commandId}: no result after {m.attempts} sends; {m.entityId} kept in slot {slot.slot} until it exits";
                var unanswered = Copy(m, MemberStatus.Held);
                unanswered.unconfirmed = true;
                var kept = book.Update(slot.slot, unanswered, LedgerEvents.Expire, why, now);
                // A detection that waited for this moving-target move is planned now that the move is settled.
                decisions.Add(IsMovingTarget(m) ? Resume(m.entityId, m.entityId, [why], [kept]) : Decision(null, [why], kept));
                continue;
            }
            var action = m.status == MemberStatus.Releasing ? Actions.Release : Actions.Isolate;
            var command = NewCommand(m.detectionId, m.entity, m.source, slot.level, action, m.target, slot.group, [$"reconcile: no result for {m.commandId} by its deadline"]);
            command.commandId = m.commandId!;
            var resent = Copy(m, m.status);
            resent.deadlineNs = command.deadlineNs;
            resent.attempts = m.attempts + 1;
            var reason = $"{m.commandId} expired with no result: sent again to {m.source} to reconcile";
            decisions.Add(Decision(command, [reason], book.Update(slot.slot, resent, LedgerEvents.Expire, reason, now)));
        }
        decisions.AddRange(ResolveConflicts(now));
        return decisions;
    }

    // A quiet signal: the entity stayed below its rule's clear bound for releaseAfter. A core slot is given
    // back by a signed release command (as are smt, llc and numa slots); a host slot (the entity already moved away) is simply freed.
    private PlanDecision OnQuiet(DetectionRecord quiet)
    {
        string entityId;
        try
        {
            entityId = EntityIds.Of(quiet.entity);
        }
        catch (ArgumentException e)
        {
            return new PlanDecision(null, [e.Message]);
        }
        var now = NowNs();
        var held = book.MembershipsOf(entityId).Where(x => x.Member.status == MemberStatus.Held && x.Member.rule == quiet.rule).ToList();
        if (held.Count == 0)
        {
            return new PlanDecision(null, [$"{entityId} quiet for rule {quiet.rule}, but holds no slot for it: nothing to release"]);
        }
        var (slot, m) = held[0];
        var why = $"{entityId} stayed below rule {quiet.rule}'s clear bound for its releaseAfter";
        if (slot.level is Levels.Container or Levels.Vm)
        {
            Settle(m.detectionId);
            return Decision(null, [why + $": host slot {slot.slot} freed"], book.Remove(slot.slot, entityId, LedgerEvents.Leave, why, now));
        }
        var command = NewCommand(quiet.detectionId, m.entity, m.source, slot.level, Actions.Release, m.target, slot.group, [why]);
        var releasing = Copy(m, MemberStatus.Releasing);
        releasing.commandId = command.commandId;
        releasing.deadlineNs = command.deadlineNs;
        releasing.attempts = 1;
        return Decision(command, [why + ": release sent"], book.Update(slot.slot, releasing, LedgerEvents.Release, why, now));
    }

    private static PlanDecision Decision(IsolationCommand? command, List<string> reasons, SlotRecord record) =>
        new(command, reasons, Ledger: [record]);

    // A copy in a new status: confirmed (unconfirmed false) unless the caller says otherwise (expiry).
    private static SlotMember Copy(SlotMember m, string status) => new()
    {
        entityId = m.entityId, entity = m.entity, detectionId = m.detectionId, rule = m.rule, scope = m.scope, status = status,
        commandId = m.commandId, source = m.source, target = m.target, deadlineNs = m.deadlineNs, attempts = m.attempts,
    };

    private static DetectionRecord AsDetection(SlotMember m) => new()
    {
        detectionId = m.detectionId ?? "", entity = m.entity, rule = m.rule ?? "", counter = "", scope = m.scope, kind = DetectionKinds.Detected,
    };
}
