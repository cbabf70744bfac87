using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Core.Detector;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.StreamProcessors.Rules;
using SafeHaven.StreamProcessors.Streams;
using Streamiz.Kafka.Net;

namespace SafeHaven.StreamProcessors.Detection;

/// <summary>Hosts the detector topology in a Streamiz <see cref="KafkaStream"/>, replaced when it stalls (see <see cref="PartitionWatchdog"/>).</summary>
internal sealed partial class DetectorService(KafkaClients kafka, DetectorOptions options, DetectorEngine engine,
    DetectorMetrics metrics, TimeProvider time, ILoggerFactory loggers, RoleFailures failures) : IHostedService, IDisposable
{
    /// <summary>
    /// Three times the ≈2 s a fenced instance measured to get its partitions back with two detectors (the embedded
    /// broker's join wait is the session, 3 s, less 1 s); with three, cascading rebalances took 4 s and a 4 s watchdog
    /// replaced a healthy instance 6 ms after its assignment arrived. Short enough that a stalled instance, replaced,
    /// still takes over within issue 13's 15 s of a kill (session 3 s + 6 s + the new member's ≈2.5 s join).
    /// </summary>
    internal static readonly TimeSpan StallAfter = TimeSpan.FromSeconds(6);

    /// <summary>
    /// The stalled state seen on the embedded broker: fenced, no partition, yet the stream still RUNNING (a healthy
    /// rejoin goes REBALANCING within milliseconds). Four looks in a row, so a revocation not yet served is not it.
    /// </summary>
    internal static readonly TimeSpan RunningEmptyAfter = TimeSpan.FromSeconds(2);

    /// <summary>The longest wait between replacements of an instance that keeps getting no partition.</summary>
    internal static readonly TimeSpan MaxStallWait = TimeSpan.FromMinutes(5);

    private static readonly TimeSpan WatchEvery = TimeSpan.FromMilliseconds(500);
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _watch = new();
    private KafkaStream? _stream;
    private AssignmentProbe? _probe;
    private volatile bool _rebalancing = true;
    private long _earlierAssignments;
    private Task? _watching;
    private volatile bool _stopping;
    private RulesWatcher? _rules;
    private IDisposable? _health;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Built-in rule sets (the demo's) are labels, not files: nothing to watch then.
        if (File.Exists(options.RulesFile))
        {
            _rules = new RulesWatcher(engine, options.RulesFile, time, loggers.CreateLogger<RulesWatcher>());
            _rules.Start();
        }
        // Ready once the stream's consumer has partitions and is caught up on them (whichever stream is current).
        _health = Kafka.Telemetry.RoleHealth.Register("detector", () => Kafka.Telemetry.ConsumerWatch.NotReady(options.ApplicationId));
        WarmUp.Codecs(kafka.Serdes);
        // The first detection of a process must not be the slowest (issue 11): its path through the topology, and
        // Streamiz's lookups of the topics it writes, are done here, before the first sample is read.
        var logger = loggers.CreateLogger<DetectorService>();
        var started = Stopwatch.GetTimestamp();
        var fired = DetectorWarmUp.Run(engine, kafka.Serdes, kafka.Seals.Detector, loggers);
        var jitMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var stream = NewStream(logger);
        var clientsMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds - jitMs;
        LogWarm(logger, fired, jitMs, clientsMs);
        await stream.StartAsync(cancellationToken).ConfigureAwait(false);
        _watching = ConsumeLoop.OnOwnThread(() => Watch(logger, _watch.Token), CancellationToken.None);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        await _watch.CancelAsync().ConfigureAwait(false);
        if (_watching is { } watching)
        {
            // A replacement under way finishes first (bounded by Streamiz's own 30 s close).
            await watching.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        _rules?.Dispose();
        _rules = null;
        _health?.Dispose();
        lock (_gate)
        {
            _stream?.Dispose();
            _stream = null;
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _watch.Cancel();
        _rules?.Dispose();
        lock (_gate)
        {
            _stream?.Dispose();
            _stream = null;
        }
        _watch.Dispose();
    }

    /// <summary>A new stream (new clients, a new group member), made current; its state restores from the changelog.</summary>
    private KafkaStream NewStream(ILogger logger)
    {
        var config = DetectorStreamConfig.Create(options.ApplicationId, kafka.Options.BootstrapServers, options.Threads, loggers, kafka.Security);
        var topology = DetectorTopology.Build(kafka.Topics, engine, kafka.Serdes, time, metrics, kafka.Options.Bounds, kafka.Seals, kafka.Options.Cluster);
        string[] sinks = [kafka.Topics.Detections, kafka.Topics.Dlq];
        var written = sinks.Concat(DetectorTopology.InternalTopics(options.ApplicationId, 1).Select(t => t.Name)).ToList();
        var probe = new AssignmentProbe(WarmKafkaSupplier.For(config, written, sinks, logger));
        var stream = new KafkaStream(topology, config, probe);
        // Streamiz ends a stream whose threads died in ERROR (or NOT_RUNNING) without telling anyone: the process
        // would stay up with no detector. Any end we did not ask for is the role's death; a replaced stream's end is asked for.
        stream.StateChanged += (_, now) =>
        {
            if (ReferenceEquals(stream, Volatile.Read(ref _stream)))
            {
                _rebalancing = now != KafkaStream.State.RUNNING;
            }
            if (!_stopping && ReferenceEquals(stream, Volatile.Read(ref _stream))
                && (now == KafkaStream.State.ERROR || now == KafkaStream.State.NOT_RUNNING || now == KafkaStream.State.PENDING_SHUTDOWN))
            {
                failures.Report("detector", $"the Streamiz application went {now}");
            }
        };
        lock (_gate)
        {
            _probe = probe;
            _rebalancing = true;
            Volatile.Write(ref _stream, stream);
        }
        return stream;
    }

    private void Watch(ILogger logger, CancellationToken ct)
    {
        var watchdog = new PartitionWatchdog(StallAfter, RunningEmptyAfter, MaxStallWait);
        var since = time.GetTimestamp();
        while (!ct.WaitHandle.WaitOne(WatchEvery))
        {
            AssignmentProbe? probe;
            long assignments;
            lock (_gate)
            {
                probe = _probe;
                assignments = _earlierAssignments + (probe?.Assignments ?? 0);
            }
            // Read again at the decision: an assignment that arrived since the last look must win.
            var rebalancing = _rebalancing;
            if (watchdog.Observe(probe?.HeldPartitions() ?? 0, rebalancing, assignments, time.GetElapsedTime(since))
                && probe?.HeldPartitions() is null or 0)
            {
                LogStalled(logger, rebalancing ? "REBALANCING" : "RUNNING");
                Replace(logger, ct);
            }
        }
    }

    private void Replace(ILogger logger, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        KafkaStream? old;
        lock (_gate)
        {
            if (_stopping)
            {
                return;
            }
            old = _stream;
            Volatile.Write(ref _stream, null);
            _earlierAssignments += _probe?.Assignments ?? 0;
            _probe = null;
        }
        // Closing leaves the group (LeaveGroup), so the new member is not kept waiting for the old one's session.
        old?.Dispose();
        if (ct.IsCancellationRequested)
        {
            return;
        }
        try
        {
            NewStream(logger).StartAsync().GetAwaiter().GetResult();
            LogReplaced(logger, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception e) when (e is InvalidOperationException or Confluent.Kafka.KafkaException or Streamiz.Kafka.Net.Errors.StreamsException)
        {
            failures.Report("detector", $"its stream could not be replaced: {e.Message}");
        }
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "detector: warmed up: the firing path ({Fired} synthetic detections, {JitMs:F1} ms), the Streamiz clients' topic lookups ({ClientsMs:F1} ms)")]
    private static partial void LogWarm(ILogger logger, long fired, double jitMs, double clientsMs);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "detector: no partition since it last held some, stream {State}: replacing the Streamiz stream (a new group member; rule state restores from the changelog)")]
    private static partial void LogStalled(ILogger logger, string state);

    [LoggerMessage(Level = LogLevel.Warning, Message = "detector: stream replaced in {Ms:F0} ms")]
    private static partial void LogReplaced(ILogger logger, double ms);
}
