using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;

namespace SafeHaven.StreamProcessors.Planning.CrossDc;

// Booking the slot: a sealed request on the target's reservations topic, and the answer only the target's planner may give.
public sealed partial class CrossDcMover
{
    private async Task<(CrossDcGrant?, string)> ReserveAsync(CrossDcMove move, ActionLease lease, CancellationToken ct)
    {
        var request = new SlotReservation
        {
            requestId = "r-" + Guid.NewGuid().ToString("N"), kind = ReservationKinds.Request, entity = move.Entity, entityId = move.EntityId,
            detectionId = move.DetectionId,
            level = move.Level, scope = move.Scope, group = move.Group, datacenter = me.Datacenter, cluster = me.Cluster, planner = me.Planner,
            leaseEpoch = lease.epoch, reason = $"no room in {me.Datacenter}", writtenAtNs = Now(), expiresAtNs = lease.expiresAtNs,
        };
        using var consumer = target.Consumer("answers");
        var at = await target.ProduceSealedAsync(target.Topics.Reservations, Seals.Kinds.Reservations, move.EntityId, _reservations.Encode(request), me.Seal, ct)
            .ConfigureAwait(false);
        consumer.Assign(new TopicPartitionOffset(target.Topics.Reservations, 0, at + 1));
        return await ConsumeLoop.OnOwnThread(() => Answer(consumer, request.requestId, ct), ct).ConfigureAwait(false);
    }

    // Blocks: runs on a thread of its own.
    private (CrossDcGrant?, string) Answer(IConsumer<string, byte[]> consumer, string requestId, CancellationToken ct)
    {
        var until = DateTime.UtcNow + Wait;
        while (DateTime.UtcNow < until && !ct.IsCancellationRequested)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is not { IsPartitionEOF: false } record)
            {
                continue;
            }
            if (target.Verify(Seals.Kinds.Reservations, record.Message) is not { Problem: null, Who: { } who }
                || Decode(record.Message.Value) is not { } answer || answer.requestId != requestId || answer.kind == ReservationKinds.Request)
            {
                // Other records of the topic (other requests, their answers); a forged one is the responder's to count.
                continue;
            }
            // Only the target's planner answers: a key trusted on its cluster for another datacenter (a third peer's planner,
            // leasing its own entities there) answering in the target's name is refused, whatever the record says.
            if ((target.SpeaksFor(who, target.Datacenter) ?? (answer.datacenter != target.Datacenter ? "an answer naming another datacenter" : null)) is { } impostor)
            {
                Refused.Enqueue($"answer to {requestId} at offset {record.Offset.Value}: {impostor}");
                LogImpostor(logger, target.Datacenter, requestId, impostor);
                continue;
            }
            return answer.kind == ReservationKinds.Granted && answer is { slot: { } s, actuator: { } a, target: { } t }
                ? (new CrossDcGrant(s, a, t), answer.reason)
                : (null, answer.reason);
        }
        return (null, $"no answer from the planner of {target.Datacenter} within {Wait.TotalSeconds} s");
    }

    private SlotReservation? Decode(byte[]? value)
    {
        try
        {
            return value is null ? null : _reservations.Decode(value);
        }
        catch (AvroDecodeException)
        {
            return null; // sealed by a trusted key yet undecodable: not an answer to anything
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "reservations of {Datacenter}: answer to {Request} refused: {Reason}")]
    private static partial void LogImpostor(ILogger logger, string datacenter, string request, string reason);
}
