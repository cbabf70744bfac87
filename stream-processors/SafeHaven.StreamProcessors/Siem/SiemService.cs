using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.DeadLetters;
using SafeHaven.StreamProcessors.Detection;
using Streamiz.Kafka.Net;

namespace SafeHaven.StreamProcessors.Siem;

/// <summary>Hosts the SIEM projector topology in a Streamiz <see cref="KafkaStream"/>.</summary>
internal sealed class SiemService(KafkaClients kafka, SiemOptions options, SiemMetrics metrics, TimeProvider time,
    ILoggerFactory loggers, RoleFailures failures) : IHostedService, IDisposable
{
    private KafkaStream? _stream;
    private volatile bool _stopping;
    private IDisposable? _health;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var topology = SiemTopology.Build(kafka.Topics, SiemProjection.For(options.Format, options.Cluster), kafka.Serdes, time, metrics,
            kafka.Options.Bounds, kafka.Seals);
        var config = StreamConfig(options, kafka, loggers);
        string[] written = [kafka.Topics.Siem, kafka.Topics.Dlq];
        // The warmed supplier also watches the stream's consumer: its lag and the projector's readiness.
        _stream = new KafkaStream(topology, config, Streams.WarmKafkaSupplier.For(config, written, written, loggers.CreateLogger<SiemService>()));
        _health = Kafka.Telemetry.RoleHealth.Register("siem", () => Kafka.Telemetry.ConsumerWatch.NotReady(options.ApplicationId));
        // As the detector: a Streamiz application whose threads died ends silently, so any end we did not ask for is the role's death.
        _stream.StateChanged += (_, now) =>
        {
            if (!_stopping && (now == KafkaStream.State.ERROR || now == KafkaStream.State.NOT_RUNNING || now == KafkaStream.State.PENDING_SHUTDOWN))
            {
                failures.Report("siem", $"the Streamiz application went {now}");
            }
        };
        await _stream.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The detector's tuned settings under the projector's own application id, with its own exception handlers: a record
    /// Streamiz cannot read, or an event the broker refuses, is skipped and counted under <c>siem</c>, never fatal.
    /// </summary>
    internal static StreamConfig StreamConfig(SiemOptions options, KafkaClients kafka, ILoggerFactory? loggers)
    {
        var config = DetectorStreamConfig.Create(options.ApplicationId, kafka.Options.BootstrapServers, options.Threads, null, kafka.Security);
        // Not the detector's 1 ms polls: a SIEM does not need millisecond latency, and empty 1 ms fetches of a second
        // application cost the broker and the host CPU that the detector and the workloads need (with them, the hostile
        // input test's canary went undetected for 60 s on a loaded 2-core machine; without, it passed).
        config.PollMs = 100;
        config.FetchWaitMaxMs = 100;
        config.CommitIntervalMs = 1000;
        config.DeserializationExceptionHandler = (_, _, _) =>
        {
            DeadLetterMetrics.CountFailed("siem", "(deserialization)");
            return Streamiz.Kafka.Net.ExceptionHandlerResponse.CONTINUE;
        };
        config.ProductionExceptionHandler = report =>
        {
            DeadLetterMetrics.CountFailed("siem", report.Topic ?? "(production)");
            return Streamiz.Kafka.Net.ProductionExceptionHandlerResponse.CONTINUE;
        };
        if (loggers is not null)
        {
            config.Logger = new OffsetResetLog(loggers, "siem");
        }
        return config;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        _health?.Dispose();
        _stream?.Dispose();
        _stream = null;
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _stopping = true;
        _stream?.Dispose();
    }
}
