using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Security;
using SafeHaven.StreamProcessors.MovingTarget;

namespace SafeHaven.StreamProcessors.Planning;

/// <summary>
/// Runs the planner against Kafka with the isolation ledger as its state. Any number of instances may run:
/// each joins the lease group on the single-partition ledger topic, and only the member assigned its
/// partition acts. On assignment it rebuilds the ledger from the topic (the latest record of every slot),
/// then reads the inventory from the start and detections and results from the group's committed offsets.
/// When the active instance dies, the group gives the partition to a standby after the session timeout.
/// </summary>
internal sealed partial class PlannerService(KafkaClients kafka, PlannerOptions options, CommandSigner signer, TimeProvider time, ILogger<PlannerService> logger,
    PlannerReadiness? readiness = null, MovingTargetOptions? movingTarget = null, Random? jitter = null)
    : BackgroundService
{
    /// <summary>Set while this instance holds the lease (for tests and metrics).</summary>
    public bool Active => _session is not null;

    private volatile PlannerSession? _session;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        ConsumeLoop.OnOwnThread(() => Run(stoppingToken), stoppingToken);

    private void Run(CancellationToken ct)
    {
        using var health = Kafka.Telemetry.RoleHealth.Register("planner", () => _session is null
            ? "standby: another planner holds the lease, or none is assigned yet"
            : readiness is { Ready: false } ? "reading the inventory it found at activation" : null);
        var topics = kafka.Topics;
        var leaseConfig = kafka.Consumer(options.GroupId + "-lease", "planner-lease");
        leaseConfig.EnableAutoCommit = false;
        // Sticky and incremental: a standby joining the group must not take the lease from the active planner for a rebalance.
        leaseConfig.PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky;
        // The lease lasts as long as the session: a dead active planner is replaced after about two of them.
        leaseConfig.SessionTimeoutMs = (int)options.LeaseTimeout.TotalMilliseconds;
        leaseConfig.HeartbeatIntervalMs = Math.Max(100, leaseConfig.SessionTimeoutMs.Value / 6);
        var gained = false;
        var lost = false;
        using var lease = new ConsumerBuilder<string, byte[]>(leaseConfig)
            .SetPartitionsAssignedHandler((_, parts) =>
            {
                gained |= parts.Count > 0;
                // The ledger is state: always replayed whole.
                return parts.Select(tp => new TopicPartitionOffset(tp, Offset.Beginning));
            })
            .SetPartitionsRevokedHandler((_, parts) => lost |= parts.Count > 0)
            .SetPartitionsLostHandler((_, parts) => lost |= parts.Count > 0)
            .Build();
        var producerConfig = kafka.Producer("planner");
        // Every ledger record and command is awaited before the next is written (write-ahead): lingering only delays
        // it, and waiting for a delivery report does not cut the linger short as Flush did.
        producerConfig.LingerMs = 0;
        using var producer = new ProducerBuilder<string, byte[]>(producerConfig).Build();
        WarmUpFirstCommand(producer);
        // Peers: moves out to their clusters, and reservations of theirs in this ledger (docs/SCALING.md §4).
        using var crossDc = options.Peers.Count > 0 ? CrossDc.PlannerCrossDc.Start(kafka, options, signer, time, logger) : null;
        lease.Subscribe(topics.Placements);
        LogStandby(logger, options.InstanceId);
        try
        {
            while (!ct.IsCancellationRequested)
            {
                if (_session is null)
                {
                    // Standby: keep the lease membership alive and wait for the partition.
                    lease.Consume(TimeSpan.FromMilliseconds(200));
                    if (gained && !lost)
                    {
                        var session = new PlannerSession(kafka, options, signer, time, logger, producer, readiness,
                            movingTarget is { Schedules.Count: > 0 } ? new MovingTargetClock(movingTarget, time, jitter ?? Random.Shared) : null, crossDc);
                        session.Rebuild(lease, ct);
                        session.Activate();
                        _session = session;
                    }
                    gained = false;
                    lost = false;
                    continue;
                }
                // Active: the ledger's own records come back here; the state already holds them.
                lease.Consume(TimeSpan.Zero);
                if (lost)
                {
                    LogLostLease(logger, options.InstanceId);
                    readiness?.Set(false);
                    _session.Dispose();
                    _session = null;
                    lost = false;
                    continue;
                }
                _session.Step(ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            readiness?.Set(false);
            _session?.Dispose();
            _session = null;
            producer.Flush(TimeSpan.FromSeconds(5));
            lease.Close();
        }
    }

    // The first command of a process must cost what the others do (issue 11): the producer knows the topics it writes,
    // and the planning, sealing and signing code has run once, before any detection arrives.
    private void WarmUpFirstCommand(IProducer<string, byte[]> producer)
    {
        var topics = kafka.Topics;
        var started = Stopwatch.GetTimestamp();
        try
        {
            WarmUp.Metadata(producer, [topics.Placements, topics.Commands, topics.Results, topics.Dlq], TimeSpan.FromSeconds(5));
        }
        catch (KafkaException e)
        {
            LogWarmUpFailed(logger, "topic metadata", e.Message);
        }
        try
        {
            PlannerWarmUp.Run(kafka, options, signer, time);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            LogWarmUpFailed(logger, "a scratch plan", e.Message);
        }
        var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        LogWarm(logger, ms);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "planner: warmed up (topic metadata, a scratch plan, a signature) in {Ms:F1} ms")]
    private static partial void LogWarm(ILogger logger, double ms);

    [LoggerMessage(Level = LogLevel.Warning, Message = "planner: warm-up of {What} failed ({Reason}); the first command will pay for it")]
    private static partial void LogWarmUpFailed(ILogger logger, string what, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "planner {Instance}: standby, waiting for the ledger lease")]
    private static partial void LogStandby(ILogger logger, string instance);

    [LoggerMessage(Level = LogLevel.Warning, Message = "planner {Instance}: lost the ledger lease; standing by")]
    private static partial void LogLostLease(ILogger logger, string instance);
}
