using SafeHaven.Core;
using SafeHaven.Core.CrossDc;
using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.StreamProcessors.Planning.CrossDc;

/// <summary>Lease length, command time-to-live and dry run of the moves a datacenter's planner sends out of it.</summary>
/// <param name="Lease">How long the action lease lasts (at most the target's maximum, 10 min by default).</param>
/// <param name="CommandTtl">How long the agents may still start the two commands (capped by the lease).</param>
/// <param name="DryRun">Mark both commands as dry runs.</param>
/// <param name="Grace">How long a result may still take after its command's deadline (the planner's expiry grace; 5 s when null).</param>
public sealed record CrossDcSettings(TimeSpan Lease, TimeSpan CommandTtl, bool DryRun = false, TimeSpan? Grace = null);

/// <summary>
/// The source datacenter's planner with a second cluster's clients: after its own planner parked a detection (no level
/// of this datacenter has room, <see cref="CrossDcPolicy.LevelToLeave(SafeHaven.Schemas.Detection, PlanDecision)"/>), it moves the entity into the target
/// datacenter under an action lease (<see cref="CrossDcMover"/>), and takes the detection out of its waiting list once
/// the move succeeded. <see cref="AfterAsync"/> holds the planner's lock (<paramref name="gate"/>) only inside this
/// class; a single-threaded planner (<c>plan</c>) calls the static <c>Prepare</c> and <c>Complete</c> on its own
/// thread instead and runs the move between them elsewhere, so planning goes on while the move waits for the agents.
/// </summary>
public sealed class CrossDcEscalation(Planner planner, PlacementBook book, object gate, CrossDcMover mover, CrossDcSettings settings, TimeProvider time)
{
    /// <summary>The move out of the datacenter <paramref name="decision"/> calls for, or null when it stays home. Reads the planner's state.</summary>
    public CrossDcMove? Prepare(SafeHaven.Schemas.Detection detection, PlanDecision decision) => Prepare(planner, book, settings, detection, decision);

    /// <summary>As <see cref="Prepare(SafeHaven.Schemas.Detection, PlanDecision)"/>, for any planner and book (no mover needed).</summary>
    public static CrossDcMove? Prepare(Planner home, PlacementBook ledger, CrossDcSettings moves, SafeHaven.Schemas.Detection detection, PlanDecision decision)
    {
        ArgumentNullException.ThrowIfNull(home);
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(moves);
        ArgumentNullException.ThrowIfNull(detection);
        return CrossDcPolicy.LevelToLeave(detection, decision) is { } level
            ? Move(home, ledger, moves, detection.entity, EntityIds.Of(detection.entity), level, detection.scope, detection.detectionId)
            : null;
    }

    /// <summary>
    /// The move out for a detection that still waits in the ledger (<paramref name="waiting"/>, its member), or null
    /// when it cannot leave (not a VM or container, its host's agent unknown). Reads the planner's state.
    /// </summary>
    public static CrossDcMove? PrepareWaiting(Planner home, PlacementBook ledger, CrossDcSettings moves, SlotMember waiting)
    {
        ArgumentNullException.ThrowIfNull(home);
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(moves);
        return CrossDcPolicy.LevelToLeave(waiting) is { } level
            ? Move(home, ledger, moves, waiting.entity, waiting.entityId, level, waiting.scope, waiting.detectionId!)
            : null;
    }

    private static CrossDcMove? Move(Planner home, PlacementBook ledger, CrossDcSettings moves, EntityRef entity, string entityId, string level,
        string scope, string detectionId) =>
        ledger.OnHost(entity.datacenter, entity.host, level) is not { } source
            ? null
            : new CrossDcMove(entity, entityId, level, scope, home.GroupOf(entity, entityId), source.ActuatorId, detectionId, moves.Lease,
                moves.CommandTtl, moves.DryRun, moves.Grace);

    /// <summary>The ledger records a finished move writes: after a success, the detection no longer waits. Changes the planner's state.</summary>
    public static IReadOnlyList<SlotRecord> Complete(PlacementBook ledger, CrossDcMove move, CrossDcOutcome outcome, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(move);
        ArgumentNullException.ThrowIfNull(outcome);
        return outcome.Status == CrossDcStatus.Succeeded
            && ledger.Unwait(move.EntityId, $"moved out to slot {outcome.Grant!.Slot} under lease epoch {outcome.Epoch}", nowNs) is { } r ? [r] : [];
    }

    /// <summary>
    /// Null when <paramref name="decision"/> (the home planner's answer to <paramref name="detection"/>) stays home;
    /// otherwise the outcome of the move out, and the ledger records to persist (the detection no longer waits).
    /// </summary>
    public async Task<(CrossDcOutcome Outcome, IReadOnlyList<SlotRecord> Ledger)?> AfterAsync(SafeHaven.Schemas.Detection detection, PlanDecision decision, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(detection);
        CrossDcMove? move;
        lock (gate)
        {
            move = Prepare(detection, decision);
        }
        if (move is null)
        {
            return null;
        }
        var outcome = await mover.MoveAsync(move, ct).ConfigureAwait(false);
        lock (gate)
        {
            return (outcome, Complete(book, move, outcome, time.NowNs()));
        }
    }
}
