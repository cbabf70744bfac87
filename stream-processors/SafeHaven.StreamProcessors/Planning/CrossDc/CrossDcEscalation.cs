using SafeHaven.Core;
using SafeHaven.Core.CrossDc;
using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.StreamProcessors.Planning.CrossDc;

/// <summary>Lease length, command time-to-live and dry run of the moves a datacenter's planner sends out of it.</summary>
/// <param name="Lease">How long the action lease lasts (at most the target's maximum, 10 min by default).</param>
/// <param name="CommandTtl">How long the agents may still start the two commands (capped by the lease).</param>
/// <param name="DryRun">Mark both commands as dry runs.</param>
public sealed record CrossDcSettings(TimeSpan Lease, TimeSpan CommandTtl, bool DryRun = false);

/// <summary>
/// The source datacenter's planner with a second cluster's clients: after its own planner parked a detection (no level
/// of this datacenter has room, <see cref="CrossDcPolicy.LevelToLeave"/>), it moves the entity into the target
/// datacenter under an action lease (<see cref="CrossDcMover"/>), and takes the detection out of its waiting list once
/// the move succeeded. Callers hold the planner's lock (<paramref name="gate"/>) only inside this class.
/// </summary>
public sealed class CrossDcEscalation(Planner planner, PlacementBook book, object gate, CrossDcMover mover, CrossDcSettings settings, TimeProvider time)
{
    /// <summary>
    /// Null when <paramref name="decision"/> (the home planner's answer to <paramref name="detection"/>) stays home;
    /// otherwise the outcome of the move out, and the ledger records to persist (the detection no longer waits).
    /// </summary>
    public async Task<(CrossDcOutcome Outcome, IReadOnlyList<SlotRecord> Ledger)?> AfterAsync(SafeHaven.Schemas.Detection detection, PlanDecision decision, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(detection);
        CrossDcMove move;
        lock (gate)
        {
            if (CrossDcPolicy.LevelToLeave(detection, decision) is not { } level)
            {
                return null;
            }
            var entityId = EntityIds.Of(detection.entity);
            if (book.OnHost(detection.entity.datacenter, detection.entity.host, level) is not { } source)
            {
                return null;
            }
            move = new CrossDcMove(detection.entity, entityId, level, detection.scope, planner.GroupOf(detection.entity, entityId), source.ActuatorId,
                detection.detectionId, settings.Lease, settings.CommandTtl, settings.DryRun);
        }
        var outcome = await mover.MoveAsync(move, ct).ConfigureAwait(false);
        if (outcome.Status != CrossDcStatus.Succeeded)
        {
            return (outcome, []);
        }
        lock (gate)
        {
            var now = time.NowNs();
            return (outcome, book.Unwait(move.EntityId, $"moved out to slot {outcome.Grant!.Slot} under lease epoch {outcome.Epoch}", now) is { } r ? [r] : []);
        }
    }
}
