using Microsoft.Extensions.Logging;
using SafeHaven.Core.CrossDc;
using SafeHaven.Core.Placement;
using SafeHaven.Schemas;
using SafeHaven.StreamProcessors.Planning.CrossDc;

namespace SafeHaven.StreamProcessors.Planning;

// Moves that must leave the datacenter, and reservations of moves coming in (docs/SCALING.md §4). The planner's state is
// touched on its own thread only: a reservation waits for the planner loop (PlannerInbox), and a move out runs its
// Kafka round trips on the thread pool and hands its end back to the loop.
internal sealed partial class PlannerSession
{
    private static readonly TimeSpan ReservationWait = TimeSpan.FromSeconds(5);
    private readonly PlannerInbox _inbox = new();
    private MoveOutBackoff? _moveOuts;
    private readonly HashSet<string> _heldBack = new(StringComparer.Ordinal);
    private readonly List<Task> _moves = [];
    private readonly CancellationTokenSource _crossDcStop = new();
    private ReservationResponder? _responder;

    // Only the active term answers: a standby's ledger is not the one the grant would be booked in.
    private void StartCrossDc()
    {
        if (crossDc is not null)
        {
            _responder = crossDc.Answer(new OnPlannerThread(_inbox, new LedgerSlots(_book, gate: null, time, PersistBooking)));
        }
    }

    // The booking is on the broker before the grant is answered (LedgerSlots' contract).
    private void PersistBooking(SlotRecord record)
    {
        Send(new PlanDecision(null, [], Ledger: [record]));
        Acknowledge(CancellationToken.None);
    }

    private void MoveOutIfNoRoom(SafeHaven.Schemas.Detection detection, PlanDecision decision)
    {
        if (crossDc is not null && detection.entity.datacenter == crossDc.Me.Datacenter
            && CrossDcEscalation.Prepare(_planner!, _book, crossDc.Settings, detection, decision) is { } move)
        {
            StartMoveOut(move);
        }
    }

    // Once a second: a detection that still waits (it waited before its hypervisor's inventory arrived, or a move out was
    // refused by every peer, failed or timed out, and no retry found room at home) tries the peers again, one attempt per
    // entity at a time and after a backoff (MoveOutBackoff), so retries never become a storm of leases and reservations.
    private void MoveOutWaiting()
    {
        if (crossDc is null || _book.Waiting.Count == 0)
        {
            return;
        }
        Backoff.Keep(id => _book.WaitingOf(id) is not null);
        foreach (var waiting in _book.Waiting)
        {
            if (waiting.members[0] is not { } m || m.entity.datacenter != crossDc.Me.Datacenter)
            {
                continue;
            }
            if (Backoff.Held(m.entityId))
            {
                // Said once per hold: the pass would try again, but the timed-out move may still land.
                if (_heldBack.Add(m.entityId))
                {
                    LogHeldBack(logger, m.entityId);
                }
                continue;
            }
            if (CrossDcEscalation.PrepareWaiting(_planner!, _book, crossDc.Settings, m) is { } move)
            {
                StartMoveOut(move);
            }
        }
    }

    private MoveOutBackoff Backoff => _moveOuts ??= new MoveOutBackoff(time);

    private void StartMoveOut(CrossDcMove move)
    {
        if (crossDc is null || !Backoff.TryStart(move.EntityId))
        {
            return;
        }
        LogMovingOut(logger, move.EntityId, move.Level, move.DetectionId);
        var token = _crossDcStop.Token;
        _moves.RemoveAll(t => t.IsCompleted);
        _moves.Add(Task.Run(async () =>
        {
            var (outcome, target) = await crossDc.MoveOutAsync(move, token).ConfigureAwait(false);
            _inbox.Post(() => MovedOut(move, outcome, target));
            if (outcome.Late is { } watch)
            {
                // Timed out after its commands went out: its late outcome (or none by the time they can no longer run) ends the hold.
                var late = await watch.ConfigureAwait(false);
                _inbox.Post(() => MovedOutLate(move, late, target));
            }
        }, CancellationToken.None));
    }

    private void MovedOut(CrossDcMove move, CrossDcOutcome outcome, string target)
    {
        var backoff = outcome.Late is not null
            ? Backoff.TimedOut(move.EntityId, outcome.SettledAtNs)
            : Backoff.Ended(move.EntityId, outcome.Status == CrossDcStatus.Succeeded);
        LogMovedOut(logger, move.EntityId, target, outcome.Status, outcome.Epoch, outcome.Reason, backoff?.TotalSeconds ?? 0);
        if (outcome.Late is not null)
        {
            LogHeld(logger, move.EntityId, DateTimeOffset.UnixEpoch.AddTicks(outcome.SettledAtNs / 100));
        }
        Completed(move, outcome, target);
    }

    private void MovedOutLate(CrossDcMove move, CrossDcOutcome? late, string target)
    {
        Backoff.Late(move.EntityId, late is null ? null : late.Status == CrossDcStatus.Succeeded);
        _heldBack.Remove(move.EntityId);
        LogMovedOutLate(logger, move.EntityId, target, late?.Status ?? "no result", late?.Reason ?? "its commands can no longer run");
        if (late is not null)
        {
            Completed(move, late, target);
        }
    }

    // After a success (in time or late): the detection's leave record.
    private void Completed(CrossDcMove move, CrossDcOutcome outcome, string target)
    {
        var records = CrossDcEscalation.Complete(_book, move, outcome, Now);
        if (records.Count > 0)
        {
            Send(new PlanDecision(null, [$"{move.EntityId} moved out to {target} ({outcome.Grant?.Slot}) under lease epoch {outcome.Epoch}"], Ledger: records));
            Acknowledge(CancellationToken.None);
        }
    }

    private void StopCrossDc()
    {
        _responder?.Dispose();
        _crossDcStop.Cancel();
        try
        {
            // A move in flight gives up; its end is not written (the next term re-plans the detection). One whose commands
            // went out keeps its lease, which runs out by itself, so no planner moves the entity again while they can run.
            Task.WhenAll(_moves).WaitAsync(TimeSpan.FromSeconds(15)).GetAwaiter().GetResult();
        }
        catch (TimeoutException)
        {
            LogMovesLeft(logger, _moves.Count(t => !t.IsCompleted));
        }
        _crossDcStop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "planner: no room here for {Entity} (detection {Detection}): moving it out at level {Level}")]
    private static partial void LogMovingOut(ILogger logger, string entity, string level, string detection);

    [LoggerMessage(Level = LogLevel.Information, Message = "planner: move of {Entity} out to {Target}: {Status} (lease epoch {Epoch}): {Reason}; backoff before another attempt: {Backoff:F0} s")]
    private static partial void LogMovedOut(ILogger logger, string entity, string target, string status, long epoch, string reason, double backoff);

    [LoggerMessage(Level = LogLevel.Warning, Message = "planner: move of {Entity} out timed out after its commands went out: no other attempt before {SettledAt:O} (they may still run) nor before its late results are read")]
    private static partial void LogHeld(ILogger logger, string entity, DateTimeOffset settledAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "planner: {Entity} still waits, past its backoff: held, its timed-out move out may still land")]
    private static partial void LogHeldBack(ILogger logger, string entity);

    [LoggerMessage(Level = LogLevel.Information, Message = "planner: move of {Entity} out to {Target}, after it timed out: {Status}: {Reason}")]
    private static partial void LogMovedOutLate(ILogger logger, string entity, string target, string status, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "planner: {Count} cross-datacenter moves still running at the end of the term")]
    private static partial void LogMovesLeft(ILogger logger, int count);

    /// <summary>The target ledger's slots, booked on the planner's thread: the reservation responder's thread waits for it.</summary>
    private sealed class OnPlannerThread(PlannerInbox inbox, ICrossDcSlots slots) : ICrossDcSlots
    {
        public CrossDcGrant? Reserve(SlotReservation request, out string reason)
        {
            if (inbox.TryInvoke(() => (Grant: slots.Reserve(request, out var why), Why: why), ReservationWait, out var answer))
            {
                reason = answer.Why;
                return answer.Grant;
            }
            reason = $"the planner did not take the request within {ReservationWait.TotalSeconds:F0} s";
            return null;
        }
    }
}
