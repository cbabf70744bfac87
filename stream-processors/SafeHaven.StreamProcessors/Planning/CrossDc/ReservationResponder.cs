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
    private int _disposed;

    /// <summary>Starts answering requests on <paramref name="link"/> (the responder's own cluster).</summary>
    public ReservationResponder(PlannerIdentity me, CrossDcLink link, ActionLeaseFollower leases, ICrossDcSlots slots, TimeProvider time, ILogger logger)
    {
        (_me, _link, _leases, _slots, _time, _logger) = (me, link, leases, slots, time, logger);
        _consumer = link.Consumer("reservations");
        // From the start: answers already written mark their requests answered, so a restarted planner answers none twice
        // (a request comes before its answer in the log: requests read before the start's end wait for the catch-up).
        _consumer.Assign(new TopicPartitionOffset(link.Topics.Reservations, 0, Offset.Beginning));
        _thread = new Thread(Run) { IsBackground = true, Name = "safehaven-reservations-" + link.Datacenter };
        _thread.Start();
    }

    /// <summary>Why each refused record was refused: forged or unsealed records, and refused requests.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Refused { get; } = new();

    private void Run()
    {
        if (!StartCatchUp())
        {
            return;
        }
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                if (_consumer.Consume(TimeSpan.FromMilliseconds(100)) is { IsPartitionEOF: false } record)
                {
                    try
                    {
                        Handle(record);
                    }
                    finally
                    {
                        EndCatchUpAt(record.Offset.Value);
                    }
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
        if (_backlog is not null && record.Offset.Value < _caughtUpAt)
        {
            _backlog.Add((r, impostor));
            return;
        }
        AnswerOnce(r, impostor);
    }

    private void AnswerOnce(SlotReservation r, string? impostor)
    {
        if (!_answered.Add(r.requestId))
        {
            return;
        }
        CrossDcGrant? grant = null;
        var reason = "request " + impostor;
        if (impostor is null)
        {
            try
            {
                grant = Decide(r, out reason);
            }
            catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException))
            {
                // Every request gets an answer: a requester left without one waits out its whole reservation wait.
                grant = null;
                reason = "the request could not be booked: " + e.Message;
            }
        }
        var answer = Answer(r, grant, reason);
        _link.ProduceSealedAsync(_link.Topics.Reservations, Seals.Kinds.Reservations, r.entityId, _codec.Encode(answer), _me.Seal, _stop.Token)
            .GetAwaiter().GetResult();
        if (grant is null)
        {
            Refuse($"request {r.requestId}: {reason}");
        }
    }

    private void Refuse(string why)
    {
        Refused.Enqueue(why);
        LogRefused(_logger, _link.Datacenter, why);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
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
