using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Core.Detector;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.SerDes;

namespace SafeHaven.StreamProcessors.Detection;

/// <summary>Hosts the detector topology in a Streamiz <see cref="KafkaStream"/>.</summary>
internal sealed class DetectorService(KafkaClients kafka, DetectorOptions options, DetectorEngine engine,
    DetectorMetrics metrics, TimeProvider time, ILoggerFactory loggers) : IHostedService, IDisposable
{
    private KafkaStream? _stream;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var config = new StreamConfig<StringSerDes, ByteArraySerDes>
        {
            ApplicationId = options.ApplicationId,
            BootstrapServers = kafka.Options.BootstrapServers,
            NumStreamThreads = options.Threads,
            AutoOffsetReset = Confluent.Kafka.AutoOffsetReset.Earliest,
            // Latency settings measured on the embedded broker (MACHINE.md).
            PollMs = 1,
            FetchWaitMaxMs = 1,
            QueuedMinMessages = 1_000_000,
            FetchQueueBackoffMs = 10,
            LingerMs = 0,
            SocketNagleDisable = true,
            CommitIntervalMs = 100,
            Logger = loggers,
        };
        WarmUp.Codecs(kafka.Serdes);
        var topology = DetectorTopology.Build(kafka.Topics, engine, kafka.Serdes, time, metrics);
        _stream = new KafkaStream(topology, config);
        await _stream.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _stream?.Dispose();
        _stream = null;
        return Task.CompletedTask;
    }

    public void Dispose() => _stream?.Dispose();
}
