using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Core.Detector;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.StreamProcessors.Rules;
using SafeHaven.StreamProcessors.Streams;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.SerDes;

namespace SafeHaven.StreamProcessors.Detection;

/// <summary>Hosts the detector topology in a Streamiz <see cref="KafkaStream"/>.</summary>
internal sealed partial class DetectorService(KafkaClients kafka, DetectorOptions options, DetectorEngine engine,
    DetectorMetrics metrics, TimeProvider time, ILoggerFactory loggers, RoleFailures failures) : IHostedService, IDisposable
{
    private KafkaStream? _stream;
    private volatile bool _stopping;
    private RulesWatcher? _rules;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var config = DetectorStreamConfig.Create(options.ApplicationId, kafka.Options.BootstrapServers, options.Threads, loggers, kafka.Security);
        // Built-in rule sets (the demo's) are labels, not files: nothing to watch then.
        if (File.Exists(options.RulesFile))
        {
            _rules = new RulesWatcher(engine, options.RulesFile, time, loggers.CreateLogger<RulesWatcher>());
            _rules.Start();
        }
        WarmUp.Codecs(kafka.Serdes);
        var topology = DetectorTopology.Build(kafka.Topics, engine, kafka.Serdes, time, metrics, kafka.Options.Bounds, kafka.Seals);
        // The first detection of a process must not be the slowest (issue 11): its path through the topology, and
        // Streamiz's lookups of the topics it writes, are done here, before the first sample is read.
        var logger = loggers.CreateLogger<DetectorService>();
        var started = Stopwatch.GetTimestamp();
        var fired = DetectorWarmUp.Run(engine, kafka.Serdes, kafka.Seals.Detector, loggers);
        var jitMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        string[] sinks = [kafka.Topics.Detections, kafka.Topics.Dlq];
        var written = sinks.Concat(DetectorTopology.InternalTopics(options.ApplicationId, 1).Select(t => t.Name)).ToList();
        _stream = new KafkaStream(topology, config, WarmKafkaSupplier.For(config, written, sinks, logger));
        var clientsMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds - jitMs;
        LogWarm(logger, fired, jitMs, clientsMs);
        // Streamiz ends a stream whose threads died in ERROR (or NOT_RUNNING) without telling anyone: the process
        // would stay up with no detector. Any end we did not ask for is the role's death.
        _stream.StateChanged += (_, now) =>
        {
            if (!_stopping && (now == KafkaStream.State.ERROR || now == KafkaStream.State.NOT_RUNNING || now == KafkaStream.State.PENDING_SHUTDOWN))
            {
                failures.Report("detector", $"the Streamiz application went {now}");
            }
        };
        await _stream.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        _rules?.Dispose();
        _rules = null;
        _stream?.Dispose();
        _stream = null;
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _stopping = true;
        _rules?.Dispose();
        _stream?.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "detector: warmed up: the firing path ({Fired} synthetic detections, {JitMs:F1} ms), the Streamiz clients' topic lookups ({ClientsMs:F1} ms)")]
    private static partial void LogWarm(ILogger logger, long fired, double jitMs, double clientsMs);
}
