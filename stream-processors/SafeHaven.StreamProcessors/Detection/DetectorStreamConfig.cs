using Microsoft.Extensions.Logging;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.DeadLetters;
using SafeHaven.StreamProcessors.Streams;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.SerDes;

namespace SafeHaven.StreamProcessors.Detection;

/// <summary>The Streamiz settings of the detector, in one place for the service, benchmarks and tests.</summary>
public static class DetectorStreamConfig
{
    /// <summary>
    /// A stream config for <paramref name="applicationId"/> at <paramref name="bootstrapServers"/>,
    /// tuned for latency as measured on the embedded broker (docs/MACHINE.md): poll and fetch wait 1 ms,
    /// no producer linger, Nagle off, a deep fetch queue without the 1 s backoff. <paramref name="security"/>
    /// (default plaintext) reaches every client Streamiz creates: consumers, producers, admin and restore consumers.
    /// </summary>
    public static StreamConfig<StringSerDes, ByteArraySerDes> Create(string applicationId, string bootstrapServers,
        int threads = 1, ILoggerFactory? loggers = null, KafkaSecurity? security = null)
    {
        var config = new StreamConfig<StringSerDes, ByteArraySerDes>
        {
            ApplicationId = applicationId,
            BootstrapServers = bootstrapServers,
            NumStreamThreads = threads,
            AutoOffsetReset = Confluent.Kafka.AutoOffsetReset.Earliest,
            PollMs = 1,
            FetchWaitMaxMs = 1,
            QueuedMinMessages = 1_000_000,
            FetchQueueBackoffMs = 10,
            LingerMs = 0,
            SocketNagleDisable = true,
            CommitIntervalMs = 100,
            // A detector killed with -9 holds its partitions until its session ends; the others take them over only then
            // (2-3 sessions on the embedded broker). 3 s keeps takeover of a dead instance within issue 13's 15 s; the cost
            // is a live instance starved of heartbeats for 3 s being evicted (heartbeats run on librdkafka's own thread).
            // Apache Kafka's group.min.session.timeout.ms must allow it (docker-compose.yml: 3 s). A hung but live instance
            // is replaced after max.poll.interval.ms. docs/SCALING.md.
            SessionTimeoutMs = 3000,
            HeartbeatIntervalMs = 500,
            MaxPollIntervalMs = 30_000,
            // No record may stop the detector (issue 10). Samples are read as raw bytes and decoded in the transformer,
            // which dead-letters what it cannot use, so these handlers are the last line: a record Streamiz itself cannot
            // read, or a detection or dead letter the broker refuses, is skipped and counted, never fatal.
            DeserializationExceptionHandler = (_, _, _) =>
            {
                DeadLetterMetrics.CountFailed("detector", "(deserialization)");
                return ExceptionHandlerResponse.CONTINUE;
            },
            ProductionExceptionHandler = report =>
            {
                DeadLetterMetrics.CountFailed("detector", report.Topic ?? "(production)");
                return ProductionExceptionHandlerResponse.CONTINUE;
            },
        };
        (security ?? KafkaSecurity.Plaintext).ApplyTo(config);
        // Streamiz keeps the logger factory beyond the stream's life: pass only one that outlives it.
        // Its consumers' offset resets reach us only as librdkafka log lines through that factory.
        if (loggers is not null)
        {
            config.Logger = new OffsetResetLog(loggers, "detector");
        }
        return config;
    }
}
