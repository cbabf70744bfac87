using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using SafeHaven.Core;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;

namespace SafeHaven.StreamProcessors.Planning.CrossDc;

/// <summary>
/// The target datacenter's planner side of a cross-datacenter move: reads signed reservation requests from its own
/// cluster's <c>reservations</c> topic and answers each once, sealed by its key. A request is granted only when its
/// writer holds the entity's live action lease of the epoch it names (after this side has read every lease record written
/// before it), the entity lives in the requester's datacenter, and <see cref="ICrossDcSlots"/> has room.
/// </summary>
public sealed partial class ReservationResponder : IDisposable
{
    private readonly PlannerIdentity _me;
    private readonly CrossDcLink _link;
    private readonly ActionLeaseFollower _leases;
    private readonly ICrossDcSlots _slots;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SingleObjectCodec<SlotReservation> _codec = new();
    private readonly HashSet<string> _answered = new(StringComparer.Ordinal);
    private readonly IConsumer<string, byte[]> _consumer;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;

    /// <summary>Starts answering requests on <paramref name="link"/> (the responder's own cluster).</summary>
    public ReservationResponder(PlannerIdentity me, CrossDcLink link, ActionLeaseFollower leases, ICrossDcSlots slots, TimeProvider time, ILogger logger)
    {
        (_me, _link, _leases, _slots, _time, _logger) = (me, link, leases, slots, time, logger);
        _consumer = link.Consumer("reservations");
        // From the start: answers already written mark their requests answered, so a restarted planner answers none twice.
        _consumer.Assign(new TopicPartitionOffset(link.Topics.Reservations, 0, Offset.Beginning));
        _thread = new Thread(Run) { IsBackground = true, Name = "safehaven-reservations-" + link.Datacenter };
        _thread.Start();
    }

    /// <summary>Why each refused record was refused: forged or unsealed records, and refused requests.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Refused { get; } = new();

    private void Run()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                if (_consumer.Consume(TimeSpan.FromMilliseconds(100)) is { IsPartitionEOF: false } record)
                {
                    Handle(record);
                }
            }
            catch (Exception e) when (e is ConsumeException or ProduceException<string, byte[]> or KafkaException)
            {
                LogError(_logger, _link.Datacenter, e.Message);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                break; // stopping: the answer in flight is abandoned, and a restarted responder answers it
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A record this side could not answer (e.g. one it could decode but not re-encode) stops nothing.
                Refuse($"unanswerable request: {e.Message}");
            }
        }
    }

    private void Handle(ConsumeResult<string, byte[]> record)
    {
        var (who, problem) = _link.Verify(Seals.Kinds.Reservations, record.Message);
        SlotReservation? r = null;
        if (problem is null)
        {
            try
            {
                r = _codec.Decode(record.Message.Value ?? []);
            }
            catch (AvroDecodeException e)
            {
                problem = e.Message;
            }
        }
        if (r is null)
        {
            Refuse($"offset {record.Offset.Value}: {problem}");
            return;
        }
        // A planner key trusted here speaks for its own datacenter only: a request in another's name, or an answer by
        // anyone but this datacenter's planners (which would keep a request from being answered), is forged.
        var impostor = _link.SpeaksFor(who!, r.kind == ReservationKinds.Request ? r.datacenter : _me.Datacenter);
        if (r.kind != ReservationKinds.Request)
        {
            if (impostor is null)
            {
                _answered.Add(r.requestId);
            }
            else
            {
                Refuse($"offset {record.Offset.Value}: answer {impostor}");
            }
            return;
        }
        if (!_answered.Add(r.requestId))
        {
            return;
        }
        CrossDcGrant? grant = null;
        var reason = "request " + impostor;
        if (impostor is null)
        {
            grant = Decide(r, out reason);
        }
        var answer = Answer(r, grant, reason);
        _link.ProduceSealedAsync(_link.Topics.Reservations, Seals.Kinds.Reservations, r.entityId, _codec.Encode(answer), _me.Seal, _stop.Token)
            .GetAwaiter().GetResult();
        if (grant is null)
        {
            Refuse($"request {r.requestId}: {reason}");
        }
    }

    private CrossDcGrant? Decide(SlotReservation r, out string reason)
    {
        if (Malformed(r) is { } malformed)
        {
            reason = malformed;
            return null;
        }
        if (r.entity?.datacenter != r.datacenter)
        {
            reason = $"entity {r.entityId} lives in datacenter {r.entity?.datacenter}, not in the requester's {r.datacenter}";
            return null;
        }
        if (!_leases.CatchUp(TimeSpan.FromSeconds(5)))
        {
            reason = "the action leases could not be read up to date";
            return null;
        }
        if (!_leases.Read(b => b.Holds(r.entityId, r.datacenter, r.planner, r.leaseEpoch)))
        {
            reason = $"planner {r.planner} of {r.datacenter} holds no live action lease of epoch {r.leaseEpoch} on {r.entityId}";
            return null;
        }
        // The booking lasts as long as the lease the log says, not as long as the request says.
        r.expiresAtNs = _leases.Read(b => b.Live(r.entityId)?.expiresAtNs) ?? r.expiresAtNs;
        return _slots.Reserve(r, out reason);
    }

    // Every id that reaches the ledger, a command or a log line: valid, and the entity id the entity's own.
    private static string? Malformed(SlotReservation r)
    {
        try
        {
            if (r.entity is null || SafeHaven.Core.EntityIds.Of(r.entity) != r.entityId)
            {
                return "the entity id is not the entity's";
            }
        }
        catch (ArgumentException e)
        {
            return "invalid entity: " + e.Message;
        }
        return !SafeHaven.Core.Identifiers.IsId(r.requestId) || !SafeHaven.Core.Identifiers.IsId(r.detectionId) || !SafeHaven.Core.Identifiers.IsToken(r.planner)
            || r.level is not (SafeHaven.Core.Levels.Container or SafeHaven.Core.Levels.Vm) || (r.group is { } g && !SafeHaven.Core.Identifiers.IsId(g.Replace('/', ':')))
            ? "a malformed request (ids, level or group)"
            : null;
    }

    private SlotReservation Answer(SlotReservation r, CrossDcGrant? grant, string reason) => new()
    {
        requestId = r.requestId, kind = grant is null ? ReservationKinds.Refused : ReservationKinds.Granted, entity = r.entity,
        entityId = r.entityId, detectionId = r.detectionId ?? "", level = r.level, scope = r.scope, group = r.group, datacenter = _me.Datacenter, cluster = _me.Cluster,
        planner = _me.Planner, leaseEpoch = r.leaseEpoch, slot = grant?.Slot, actuator = grant?.Actuator, target = grant?.Target,
        reason = reason, writtenAtNs = _time.NowNs(), expiresAtNs = r.expiresAtNs,
    };

    private void Refuse(string why)
    {
        Refused.Enqueue(why);
        LogRefused(_logger, _link.Datacenter, why);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join();
        _consumer.Close();
        _consumer.Dispose();
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "reservations of {Datacenter}: refused {Reason}")]
    private static partial void LogRefused(ILogger logger, string datacenter, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "reservations of {Datacenter}: {Reason}")]
    private static partial void LogError(ILogger logger, string datacenter, string reason);
}
