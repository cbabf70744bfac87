using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using SafeHaven.Core;
using SafeHaven.Core.Placement;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Telemetry;
using SafeHaven.Schemas;
using SafeHaven.Security;
using SafeHaven.StreamProcessors.MovingTarget;

namespace SafeHaven.StreamProcessors.Planning;

/// <summary>
/// One term of an active planner: its ledger, rebuilt from the topic, and the consumer of inventory,
/// detections and results. Every record is handled, its ledger records and commands are acknowledged by the
/// broker, and only then is its offset committed: a crash re-reads at most the record in hand, and the
/// ledger (detection ids, deterministic command ids) turns that re-read into no second command.
/// </summary>
internal sealed partial class PlannerSession(KafkaClients kafka, PlannerOptions options, CommandSigner signer, TimeProvider time,
    ILogger logger, IProducer<string, byte[]> producer, PlannerReadiness? readiness = null, MovingTargetClock? movingTarget = null,
    CrossDc.PlannerCrossDc? crossDc = null) : IDisposable
{
    private readonly PlacementBook _book = new(options.InstanceId);
    private readonly IDeserializer<SlotRecord> _slots = kafka.Serdes.Deserializer<SlotRecord>();
    private readonly ISerializer<SlotRecord> _ledger = kafka.Serdes.Serializer<SlotRecord>();
    private readonly ISerializer<IsolationCommand> _commands = kafka.Serdes.Serializer<IsolationCommand>();
    private readonly IDeserializer<EntityState> _inventory = kafka.Serdes.Deserializer<EntityState>();
    private readonly IDeserializer<SafeHaven.Schemas.Detection> _detections = kafka.Serdes.Deserializer<SafeHaven.Schemas.Detection>();
    private readonly IDeserializer<IsolationResult> _results = kafka.Serdes.Deserializer<IsolationResult>();
    private readonly ISerializer<IsolationResult> _skipped = kafka.Serdes.Serializer<IsolationResult>();
    private readonly LogStartWatch _lost = new("planner", logger);

    // The records of this term: Acknowledge waits for exactly these (a previous term's late reports are not its business).
    private readonly Acknowledgements _acks = new();
    private readonly DetectionTraces _traces = new();
    private Planner? _planner;
    private IConsumer<string, byte[]>? _work;
    private long _nextExpiry;
    // Inventory partition -> the offset it ended at when this term began; removed once read up to it.
    private readonly Dictionary<int, long> _inventoryEnds = [];
    private string? _deliveryError;
    private IDisposable? _watch;
    private IDisposable? _ledgerGauge;

    /// <summary>Reads the ledger partition from the start up to its end as of now, applying every slot record.</summary>
    public void Rebuild(IConsumer<string, byte[]> lease, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var tp = new TopicPartition(kafka.Topics.Placements, 0);
        var end = lease.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10)).High.Value;
        // The poll that brought the assignment may already have returned (and the caller dropped) the first records.
        lease.Seek(new TopicPartitionOffset(tp, Offset.Beginning));
        var applied = 0;
        var last = -1L;
        var until = Stopwatch.GetTimestamp() + 30 * Stopwatch.Frequency;
        while (last < end - 1)
        {
            ct.ThrowIfCancellationRequested();
            if (Stopwatch.GetTimestamp() > until)
            {
                throw new InvalidOperationException($"planner {options.InstanceId}: the ledger could not be read to offset {end} within 30 s (at {last})");
            }
            if (lease.Consume(TimeSpan.FromMilliseconds(100)) is { Message: not null } cr)
            {
                last = cr.Offset.Value;
                try
                {
                    // A forged ledger record could hold or free any slot: only the planner's key may write one.
                    kafka.Seals.Require(Seals.Kinds.Placements, cr.Message);
                    var slot = KafkaSerdes.Decode(_slots, cr.Message.Value, cr.Topic);
                    _book.Apply(RecordRejectedException.Require(slot, Bounds.Problem(slot, Now)));
                    applied++;
                }
                catch (Exception e) when (e is AvroDecodeException or RecordRejectedException)
                {
                    ConsumeLoop.DeadLetter(producer, kafka, cr, e, "planner", time, logger, _acks);
                }
            }
        }
        var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        LogRebuilt(logger, options.InstanceId, applied, _book.HeldCount, ms);
    }

    /// <summary>Starts acting: assigns every partition of inventory (from the start), detections and results (from the committed offsets).</summary>
    public void Activate()
    {
        _planner = new Planner(_book, time, new PlannerSettings(options.CommandTtl, options.DryRun, options.ExpiryGrace, options.Policy())
        {
            // Another datacenter moving one of its entities into this one holds a lease here: plan nothing for it meanwhile.
            LeaseRefusal = crossDc is null ? null : new Func<string, string?>(crossDc.Refusal),
        });
        var config = kafka.Consumer(options.GroupId, "planner");
        config.EnableAutoCommit = false;
        _work = new ConsumerBuilder<string, byte[]>(config).Build();
        var topics = kafka.Topics;
        using var admin = new DependentAdminClientBuilder(producer.Handle).Build();
        var metadata = admin.GetMetadata(TimeSpan.FromSeconds(10));
        var assignment = new List<TopicPartitionOffset>();
        foreach (var topic in new[] { topics.Inventory, topics.Detections, topics.Results })
        {
            var partitions = metadata.Topics.FirstOrDefault(t => t.Topic == topic)?.Partitions
                ?? throw new InvalidOperationException($"topic {topic} does not exist");
            assignment.AddRange(partitions.Select(p => new TopicPartitionOffset(topic, p.PartitionId,
                topic == topics.Inventory ? Offset.Beginning : Offset.Unset)));
        }
        WarmUp.Codecs(kafka.Serdes);
        // A fresh consumer knows no partition leaders: its first offset lookups (Offset.Beginning) then fail and are
        // retried after 500 ms, so the inventory arrived ≈500 ms after activation and a detection in between waited
        // for its process's record (measured in the demo; docs/PERFORMANCE.md). Its own metadata lookup first.
        WarmUp.Metadata(_work, [topics.Inventory, topics.Detections, topics.Results], TimeSpan.FromSeconds(10));
        foreach (var p in assignment.Where(a => a.Topic == topics.Inventory))
        {
            if (_work.QueryWatermarkOffsets(p.TopicPartition, TimeSpan.FromSeconds(10)).High.Value is > 0 and var end)
            {
                _inventoryEnds[p.Partition.Value] = end;
            }
        }
        _work.Assign(assignment);
        _watch = Kafka.Telemetry.ConsumerWatch.Register("planner", _work);
        // A count read from the collector's thread: a stale value by one decision is fine for a gauge.
        _ledgerGauge = Kafka.Telemetry.SafeHavenMetrics.ObserveLedger(() => _book.HeldCount);
        // Compiles the write path (ledger, command, acknowledgement) before the first detection: an empty decision
        // writes nothing. The first command paid ≈1–3 ms for it under load (docs/PERFORMANCE.md).
        SendAndRetry(new PlanDecision(null, []));
        StartCrossDc();
        readiness?.Set(_inventoryEnds.Count == 0);
        LogActive(logger, options.InstanceId, _book.HeldCount, _planner.Pending);
    }

    /// <summary>Handles at most one record, then expires overdue commands once a second.</summary>
    public void Step(CancellationToken ct)
    {
        // Reservations from other datacenters and the ends of moves out: run here, between two records.
        _inbox.Drain();
        var cr = _work!.Consume(TimeSpan.FromMilliseconds(100));
        if (cr?.Message is not null)
        {
            _lost.Observe(_work, cr);
            try
            {
                Handle(cr);
            }
            catch (Exception e) when (e is not (OperationCanceledException or OutOfMemoryException or KafkaException or PlannerDeliveryException))
            {
                // Counted: the input's offset is committed only once its dead letter is acknowledged (or failed).
                ConsumeLoop.DeadLetter(producer, kafka, cr, e, "planner", time, logger, _acks);
            }
            Acknowledge(ct);
            if (cr.Topic != kafka.Topics.Inventory)
            {
                _work.Commit([new TopicPartitionOffset(cr.TopicPartition, cr.Offset + 1)]);
            }
            else if (_inventoryEnds.TryGetValue(cr.Partition.Value, out var end) && cr.Offset.Value + 1 >= end
                && _inventoryEnds.Remove(cr.Partition.Value) && _inventoryEnds.Count == 0)
            {
                readiness?.Set(true);
            }
        }
        var now = Stopwatch.GetTimestamp();
        if (now >= _nextExpiry)
        {
            _nextExpiry = now + Stopwatch.Frequency;
            foreach (var d in _planner!.Expire())
            {
                Send(d);
            }
            Acknowledge(ct);
            MoveOutWaiting();
        }
        // Moving-target moves are planned on this thread, against the same ledger as detections (docs/LEDGER.md).
        if (movingTarget?.Due() is { Count: > 0 } moves)
        {
            foreach (var move in moves)
            {
                var decision = _planner!.PlanMove(move);
                SafeHavenMetrics.MovingTargetRound();
                if (decision.Command is null)
                {
                    SafeHavenMetrics.MovingTargetNotPlaced();
                }
                else
                {
                    SafeHavenMetrics.MovingTargetIssued();
                }
                SendAndRetry(decision);
            }
            Acknowledge(ct);
        }
    }

    private void Handle(ConsumeResult<string, byte[]> cr)
    {
        var topics = kafka.Topics;
        var planner = _planner!;
        if (cr.Topic == topics.Inventory)
        {
            // Null values are tombstones of entities that went away.
            var sealedBy = kafka.Seals.Require(Seals.Kinds.Inventory, cr.Message);
            var state = cr.Message.Value is null ? null : KafkaSerdes.Decode(_inventory, cr.Message.Value, cr.Topic);
            if (state is not null)
            {
                RecordRejectedException.Require(state, Bounds.Problem(state, Now));
            }
            if (sealedBy is not null && InventoryView.SpeaksFor(sealedBy, cr.Message.Key, state) is { } impostor)
            {
                throw new RecordRejectedException(impostor);
            }
            if (state is not null && InventoryView.Actuator(state) is { } actuator)
            {
                _book.Upsert(actuator);
                LogActuator(logger, actuator.ActuatorId, actuator.Host, actuator.Levels, actuator.IsolationPool);
                RetryUnplaced();
                return;
            }
            if (InventoryView.Tenancy(cr.Message.Key, state, _book.Tenants) && state is not null)
            {
                // A process detected before its record arrived waits for it: its group decides its slot.
                foreach (var retried in planner.RetryEntity(state.entityId))
                {
                    Send(retried);
                }
            }
            if (state is null && cr.Message.Key is { } gone)
            {
                // Whatever went away may have held a slot, or been the other tenant that kept a host unfit.
                Send(planner.OnGone(gone));
                RetryUnplaced();
            }
            return;
        }
        // Every record is bounded before it can change the ledger: out of bounds, it is dead-lettered by Step.
        var kind = cr.Topic == topics.Detections ? Seals.Kinds.Detections : Seals.Kinds.Results;
        var from = kafka.Seals.Require(kind, cr.Message);
        if (from is { Role: SafeHaven.Security.KeyRoles.Planner })
        {
            return; // a skipped outcome this planner wrote itself (a budget): it names no outstanding command
        }
        // The decision's span continues the detection's (or result's) trace; the command it sends carries it on.
        using var span = SafeHaven.Kafka.Tracing.SafeHavenActivity.StartConsumer(SafeHaven.Kafka.Tracing.SafeHavenActivity.Planner, SafeHaven.Kafka.Tracing.SafeHavenActivity.Plan, cr.Message.Headers);
        span?.SetTag("safehaven.input", kind);
        var detection = kind == Seals.Kinds.Detections ? Bounded(KafkaSerdes.Decode(_detections, cr.Message.Value, cr.Topic)) : null;
        if (span is not null && detection is not null)
        {
            // A command planned for it later (it waits, or its send expires) continues this detection's trace.
            _traces.Remember(detection.detectionId, span.ParentSpanId == default
                ? span.Context
                : new System.Diagnostics.ActivityContext(span.TraceId, span.ParentSpanId, span.ActivityTraceFlags, isRemote: true));
        }
        var decision = detection is not null
            ? planner.Plan(detection)
            : planner.OnResult(Bounded(KafkaSerdes.Decode(_results, cr.Message.Value, cr.Topic)), from?.Subject);
        if (span is not null)
        {
            span.SetTag("safehaven.command_id", decision.Command?.commandId ?? decision.Receive?.commandId)
                .SetTag("safehaven.skipped", decision.Skipped?.error);
        }
        if (decision.DeadLetter is { } refused)
        {
            // Changes nothing: Step's handler dead-letters the record with this reason.
            NoteLate(decision);
            throw new RefusedRecordException(refused);
        }
        SendAndRetry(decision);
        if (detection is not null)
        {
            MoveOutIfNoRoom(detection, decision);
        }
    }

    private SafeHaven.Core.Bounds.RecordBounds Bounds => kafka.Options.Bounds;

    private long Now => time.NowNs();

    private SafeHaven.Schemas.Detection Bounded(SafeHaven.Schemas.Detection d) => RecordRejectedException.Require(d, Bounds.Problem(d, Now));

    private IsolationResult Bounded(IsolationResult r) => RecordRejectedException.Require(r, Bounds.Problem(r, Now));

    private void SendAndRetry(PlanDecision decision)
    {
        Send(decision);
        if (decision.Records.Any(r => r.@event == LedgerEvents.Free))
        {
            RetryUnplaced();
        }
    }

    private void RetryUnplaced()
    {
        // Topics are read in no fixed order: a detection may have come before the actuator or the free slot that serves it.
        foreach (var retried in _planner!.Retry())
        {
            Send(retried);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "planner {Instance}: ledger rebuilt from {Records} records: {Held} slots held ({Ms:F1} ms)")]
    private static partial void LogRebuilt(ILogger logger, string instance, int records, int held, double ms);

    [LoggerMessage(Level = LogLevel.Information, Message = "planner {Instance}: active (lease held), {Held} slots held, {Pending} commands outstanding")]
    private static partial void LogActive(ILogger logger, string instance, int held, int pending);

    [LoggerMessage(Level = LogLevel.Information, Message = "planner: actuator {Id} on {Host}: levels {Levels}, pool {Pool}")]
    private static partial void LogActuator(ILogger logger, string id, string host, IReadOnlySet<string> levels, SafeHaven.Core.CpuList pool);
}
