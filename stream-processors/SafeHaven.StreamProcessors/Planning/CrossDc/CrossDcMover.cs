using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using SafeHaven.Core;
using SafeHaven.Core.CrossDc;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;

namespace SafeHaven.StreamProcessors.Planning.CrossDc;

/// <summary>
/// The source datacenter's planner side of a move that must leave its datacenter (docs/SCALING.md §4): take the action
/// lease in the target cluster, book a slot through the target's planner, send the signed receive command to the target
/// agent and the isolate command to its own (deadlines inside the lease), wait for both results, release the lease.
/// </summary>
public sealed partial class CrossDcMover(PlannerIdentity me, CrossDcLink home, CrossDcLink target, ActionLeaseFollower targetLeases,
    TimeProvider time, ILogger logger)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    // After the commands' deadline: how long both results are waited for before the move is reported timed out.
    private static readonly TimeSpan ResultWait = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan DefaultGrace = TimeSpan.FromSeconds(5);
    private readonly SingleObjectCodec<ActionLease> _leases = new();
    private readonly SingleObjectCodec<SlotReservation> _reservations = new();
    private readonly SingleObjectCodec<IsolationCommand> _commands = new();

    /// <summary>Answers to this mover's requests refused because their seal does not speak for the target datacenter, with why.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Refused { get; } = new();

    /// <summary>Takes the lease; the offset of the lease record is returned with whether it won.</summary>
    public async Task<(ActionLease Lease, bool Won)> AcquireAsync(string entityId, TimeSpan length, string reason, CancellationToken ct)
    {
        // Caught up first, so the epoch is above every epoch seen and a live lease of another holder is known.
        await ConsumeLoop.OnOwnThread(() => targetLeases.CatchUp(Wait), ct).ConfigureAwait(false);
        var lease = targetLeases.Read(b => b.NewLease(entityId, me.Datacenter, me.Cluster, me.Planner, length, reason));
        var offset = await target.ProduceSealedAsync(target.Topics.ActionLeases, Seals.Kinds.ActionLeases, entityId, _leases.Encode(lease), me.Seal, ct)
            .ConfigureAwait(false);
        // Won or lost is decided by the log order every reader sees, not by this writer.
        var verdict = await ConsumeLoop.OnOwnThread(() => targetLeases.WaitFor(offset, Wait), ct).ConfigureAwait(false);
        return (lease, verdict == LeaseVerdict.Won);
    }

    /// <summary>Gives <paramref name="lease"/> up with its release record (a tombstone names no writer, so it releases nothing).</summary>
    public Task ReleaseAsync(ActionLease lease, string reason, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return target.ProduceSealedAsync(target.Topics.ActionLeases, Seals.Kinds.ActionLeases, lease.entityId,
            _leases.Encode(ActionLeaseBook.ReleaseOf(lease, reason)), me.Seal, ct);
    }

    /// <summary>Runs one move end to end; the lease is released whatever the outcome, once it is known.</summary>
    public async Task<CrossDcOutcome> MoveAsync(CrossDcMove move, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(move);
        if (targetLeases.Read(b => b.Refusal(move.EntityId, me.Datacenter)) is { } held)
        {
            return new CrossDcOutcome(CrossDcStatus.LeasedElsewhere, held);
        }
        var (lease, won) = await AcquireAsync(move.EntityId, move.Lease, $"move {move.DetectionId} to {target.Datacenter}", ct).ConfigureAwait(false);
        if (!won)
        {
            return new CrossDcOutcome(CrossDcStatus.LeasedElsewhere, targetLeases.Read(b => b.Refusal(move.EntityId, me.Datacenter)) ?? "the lease record lost");
        }
        CrossDcOutcome? outcome = null;
        try
        {
            outcome = await UnderLeaseAsync(move, lease, ct).ConfigureAwait(false);
            if (outcome.Late is { } late)
            {
                // Timed out, its commands may still run: the lease stays held until their outcome is known or they cannot run.
                outcome = outcome with { Late = ReleaseAfterAsync(late, lease, ct) };
            }
            return outcome;
        }
        finally
        {
            if (outcome?.Late is null)
            {
                await ReleaseAsync(lease, outcome?.Status ?? "move interrupted", CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private async Task<CrossDcOutcome> UnderLeaseAsync(CrossDcMove move, ActionLease lease, CancellationToken ct)
    {
        var (grant, reason) = await ReserveAsync(move, lease, ct).ConfigureAwait(false);
        if (grant is null)
        {
            return new CrossDcOutcome(CrossDcStatus.Refused, reason, lease.epoch);
        }
        // The source never acts without the lease: commands go out only while it is held, with deadlines inside it,
        // so an agent rejects either command once the lease may have passed to someone else.
        if (!targetLeases.Read(b => b.Holds(move.EntityId, me.Datacenter, me.Planner, lease.epoch, TimeSpan.FromSeconds(1))))
        {
            return new CrossDcOutcome(CrossDcStatus.LeaseLost, $"the lease of epoch {lease.epoch} is no longer held", lease.epoch, grant);
        }
        var (isolate, receive) = Commands(move, lease, grant);
        var results = new ResultPair(new ResultWatch(home, isolate.commandId, move.SourceActuator, time));
        var watched = false;
        var sent = false;
        try
        {
            results.Target = new ResultWatch(target, receive.commandId, grant.Actuator, time);
            // From here a command may be out (a produce that throws may still have been delivered).
            sent = true;
            await ProduceAsync(target, grant.Actuator, receive, ct).ConfigureAwait(false);
            await ProduceAsync(home, move.SourceActuator, isolate, ct).ConfigureAwait(false);
            LogSent(logger, move.EntityId, target.Datacenter, grant.Target, lease.epoch);
            await results.WaitAsync(isolate.deadlineNs + ResultWait.Ticks * 100, ct).ConfigureAwait(false);
            if (results.Outcome(lease.epoch, grant) is { } outcome)
            {
                return outcome;
            }
            // Gone past the deadline without both results: the commands may still run (admitted by an agent whose clock is
            // behind, or still running), so the move is watched until neither can (docs/SCALING.md §4).
            watched = true;
            return Watched(CrossDcStatus.TimedOut, $"no result from {(results.Isolate is null ? move.SourceActuator : grant.Actuator)}");
        }
        catch (Exception e) when (sent && e is not OutOfMemoryException)
        {
            // A cluster lost or the planner stopping after a command went out: the commands may still run, so the move is
            // held and watched like a timed-out one, and the lease is not given up while they can (docs/SCALING.md §4).
            watched = true;
            return Watched(CrossDcStatus.Error, $"after its commands went out: {e.Message}");
        }
        finally
        {
            if (!watched)
            {
                results.Dispose();
            }
        }

        CrossDcOutcome Watched(string status, string reason)
        {
            var settledAt = MoveOutBackoff.SettledAtNs([isolate.deadlineNs, receive.deadlineNs], targetLeases.Read(b => b.Skew), move.Grace ?? DefaultGrace);
            return new CrossDcOutcome(status, reason, lease.epoch, grant, results.Isolate, results.Receive, settledAt,
                WatchLateAsync(move, results, settledAt, lease.epoch, grant, ct));
        }
    }

    private (IsolationCommand Isolate, IsolationCommand Receive) Commands(CrossDcMove move, ActionLease lease, CrossDcGrant grant)
    {
        var now = Now();
        var deadline = Math.Min(now + (long)move.CommandTtl.TotalNanoseconds, targetLeases.Read(b => b.HeldUntilNs(lease)));
        List<string> reasons = [$"no free {move.Level} slot in {me.Datacenter}", $"slot {grant.Slot} of {target.Datacenter} under lease epoch {lease.epoch}"];
        var isolate = new IsolationCommand
        {
            commandId = CrossDcPolicy.IsolateId(move.DetectionId, move.Level, lease.epoch), detectionId = move.DetectionId, entity = move.Entity,
            level = move.Level, action = Actions.Isolate, source = move.SourceActuator, target = grant.Target, issuedAtNs = now, deadlineNs = deadline,
            dryRun = move.DryRun, reasons = reasons, group = move.Group, cluster = me.Cluster, leaseEpoch = lease.epoch, signature = [],
        };
        var receive = new IsolationCommand
        {
            commandId = isolate.commandId + Actions.ReceiveIdSuffix, detectionId = move.DetectionId, entity = move.Entity, level = move.Level,
            action = Actions.Receive, source = move.SourceActuator, target = grant.Target, issuedAtNs = now, deadlineNs = deadline,
            dryRun = move.DryRun, reasons = reasons, group = move.Group, cluster = me.Cluster, leaseEpoch = lease.epoch, signature = [],
        };
        me.Commands.Sign(isolate);
        me.Commands.Sign(receive);
        return (isolate, receive);
    }

    private async Task ProduceAsync(CrossDcLink link, string key, IsolationCommand command, CancellationToken ct) =>
        await link.Producer.ProduceAsync(link.Topics.Commands, new Message<string, byte[]> { Key = key, Value = _commands.Encode(command) }, ct)
            .ConfigureAwait(false);

    private long Now() => time.NowNs();

    [LoggerMessage(Level = LogLevel.Information, Message = "cross-dc move of {Entity} to {Datacenter}/{Target} sent under lease epoch {Epoch}")]
    private static partial void LogSent(ILogger logger, string entity, string datacenter, string target, long epoch);
}
