using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using SafeHaven.Core;
using SafeHaven.Core.CrossDc;
using SafeHaven.Schemas;

namespace SafeHaven.StreamProcessors.Planning.CrossDc;

// A move that timed out after its commands went out (docs/SCALING.md §4): its results are still watched until neither
// command can run (MoveOutBackoff.SettledAtNs), under the lease, which is released once that watch ends.
public sealed partial class CrossDcMover
{
    // Never faults: a cluster lost or the planner stopping is "no late outcome", and the hold lasts until the settle instant.
    private async Task<CrossDcOutcome?> WatchLateAsync(CrossDcMove move, ResultPair results, long settledAtNs, long epoch, CrossDcGrant grant,
        CancellationToken ct)
    {
        try
        {
            await results.WaitAsync(settledAtNs, ct).ConfigureAwait(false);
            var late = results.Outcome(epoch, grant);
            LogLate(logger, move.EntityId, target.Datacenter, epoch, late?.Status ?? "no result");
            return late;
        }
        catch (Exception e) when (e is KafkaException or ObjectDisposedException or OperationCanceledException or InvalidOperationException
            or SafeHaven.Kafka.Serialization.AvroDecodeException)
        {
            // A sealed but undecodable result included: the hold then lasts until the settle instant, never longer.
            LogLateLost(logger, move.EntityId, epoch, e.Message);
            return null;
        }
        finally
        {
            results.Dispose();
        }
    }

    private async Task<CrossDcOutcome?> ReleaseAfterAsync(Task<CrossDcOutcome?> late, ActionLease lease, CancellationToken ct)
    {
        var outcome = await late.ConfigureAwait(false);
        if (outcome is null && ct.IsCancellationRequested)
        {
            // The planner stops while the commands may still run: the lease runs out by itself (its expiry is after every
            // deadline plus the skew), so no other planner acts on the entity meanwhile.
            return null;
        }
        try
        {
            await ReleaseAsync(lease, outcome?.Status ?? "no result before the commands could no longer run", CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is KafkaException or ObjectDisposedException)
        {
            LogLateLost(logger, lease.entityId, lease.epoch, $"release not written ({e.Message}); the lease runs out by itself");
        }
        return outcome;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "cross-dc move of {Entity} to {Datacenter} under lease epoch {Epoch}, after it timed out: {Status}")]
    private static partial void LogLate(ILogger logger, string entity, string datacenter, long epoch, string status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "cross-dc move of {Entity} under lease epoch {Epoch}: watch of its late results ended: {Reason}")]
    private static partial void LogLateLost(ILogger logger, string entity, long epoch, string reason);

    /// <summary>The two results of a move, watched on both clusters; each kept once it came.</summary>
    private sealed class ResultPair(ResultWatch home) : IDisposable
    {
        public ResultWatch? Target { get; set; }

        public IsolationResult? Isolate { get; private set; }

        public IsolationResult? Receive { get; private set; }

        public async Task WaitAsync(long untilNs, CancellationToken ct)
        {
            Isolate ??= await home.ResultAsync(untilNs, ct).ConfigureAwait(false);
            Receive ??= await Target!.ResultAsync(untilNs, ct).ConfigureAwait(false);
        }

        /// <summary>Succeeded or failed once both results are in; null before.</summary>
        public CrossDcOutcome? Outcome(long epoch, CrossDcGrant grant)
        {
            if (Isolate is not { } src || Receive is not { } dst)
            {
                return null;
            }
            var ok = src.status == ResultStatus.Succeeded && dst.status == ResultStatus.Succeeded;
            return new CrossDcOutcome(ok ? CrossDcStatus.Succeeded : CrossDcStatus.Failed, ok ? "both agents succeeded" : $"{src.status} / {dst.status}: {src.error ?? dst.error}",
                epoch, grant, src, dst);
        }

        public void Dispose()
        {
            home.Dispose();
            Target?.Dispose();
        }
    }
}
