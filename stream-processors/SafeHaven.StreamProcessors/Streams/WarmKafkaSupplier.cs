using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using SafeHaven.Kafka.Serialization;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.Kafka;
using Streamiz.Kafka.Net.Metrics;

namespace SafeHaven.StreamProcessors.Streams;

/// <summary>
/// Streamiz's own clients (<see cref="DefaultKafkaClientSupplier"/>), made ready for the first record they write.
/// Streamiz looks topics up lazily, on the stream thread, in the middle of the first detection of a process
/// (docs/PERFORMANCE.md, "Why the demo's detector hop is 20–35 ms"):
/// <list type="bullet">
/// <item>its producer fetches an output or changelog topic's metadata at the first record sent to it: each producer is
/// handed over with the metadata of <paramref name="producerTopics"/> already fetched through its own handle;</item>
/// <item>its sink asks the admin client for the topic's partition count (<c>StreamsProducer.PartitionsFor</c>, the
/// <c>DefaultStreamPartitioner</c>'s input) synchronously, and again every <c>topic.metadata.refresh.interval.ms</c>
/// (5 min): each admin client answers that question for <paramref name="sinkTopics"/> from a cache read at start and
/// refreshed every <paramref name="refresh"/> on a timer. Partitioning is unchanged: the same partitioner gets the
/// same count (and with Streamiz's default, <c>DefaultPartitionerReshuffleEveryKey</c>, which the detector keeps, it
/// returns <c>Partition.Any</c> whatever the count: the producer hashes the key; the lookup only cost time).</item>
/// </list>
/// A lookup that fails at start is logged and left to Streamiz, which then asks the broker itself as before.
/// </summary>
/// <param name="inner">The supplier doing the work (Streamiz's default for the stream's config).</param>
/// <param name="producerTopics">Every topic the stream writes: sinks and changelogs.</param>
/// <param name="sinkTopics">The topics of the topology's sinks (<c>To()</c>).</param>
/// <param name="refresh">How often the cached partition counts are re-read.</param>
/// <param name="logger">Where failed warm-ups are reported.</param>
public sealed partial class WarmKafkaSupplier(IKafkaSupplier inner, IReadOnlyList<string> producerTopics, IReadOnlyList<string> sinkTopics,
    TimeSpan refresh, ILogger logger) : IKafkaSupplier
{
    /// <summary>How long a warm-up lookup may wait for the broker.</summary>
    public static TimeSpan LookupTimeout { get; } = TimeSpan.FromSeconds(3);

    /// <summary>Streamiz's default supplier for <paramref name="config"/>, warmed for those topics.</summary>
    public static WarmKafkaSupplier For(IStreamConfig config, IReadOnlyList<string> producerTopics, IReadOnlyList<string> sinkTopics, ILogger logger) =>
        new(new DefaultKafkaClientSupplier(new KafkaLoggerAdapter(config), config), producerTopics, sinkTopics, TimeSpan.FromMinutes(1), logger);

    /// <inheritdoc/>
    public StreamMetricsRegistry MetricsRegistry
    {
        get => inner.MetricsRegistry;
        set => inner.MetricsRegistry = value;
    }

    /// <summary>Streamiz's admin client, answering the sinks' partition counts from memory.</summary>
    public IAdminClient GetAdmin(AdminClientConfig config)
    {
        var admin = inner.GetAdmin(config);
        var cache = new TopicMetadataCache(sinkTopics, topic => admin.GetMetadata(topic, LookupTimeout));
        if (cache.Refresh() < cache.Topics.Count)
        {
            LogNoPartitionCounts(logger, string.Join(", ", sinkTopics));
        }
        cache.RefreshEvery(refresh);
        return new CachedMetadataAdminClient(admin, cache);
    }

    /// <summary>Streamiz's producer, with the metadata of every topic it writes already fetched.</summary>
    public IProducer<byte[], byte[]> GetProducer(ProducerConfig config)
    {
        var producer = inner.GetProducer(config);
        try
        {
            WarmUp.Metadata(producer, producerTopics, LookupTimeout);
        }
        catch (KafkaException e)
        {
            LogNoMetadata(logger, string.Join(", ", producerTopics), e.Message);
        }
        return producer;
    }

    /// <summary>Streamiz's consumer, its lag and readiness watched under its group id, the application id (<see cref="Kafka.Telemetry.ConsumerWatch"/>).</summary>
    public IConsumer<byte[], byte[]> GetConsumer(ConsumerConfig config, IConsumerRebalanceListener rebalanceListener)
    {
        ArgumentNullException.ThrowIfNull(config);
        var consumer = inner.GetConsumer(config, rebalanceListener);
        Kafka.Telemetry.ConsumerWatch.Register(config.GroupId, consumer);
        return consumer;
    }

    /// <inheritdoc/>
    public IConsumer<byte[], byte[]> GetRestoreConsumer(ConsumerConfig config) => inner.GetRestoreConsumer(config);

    /// <inheritdoc/>
    public IConsumer<byte[], byte[]> GetGlobalConsumer(ConsumerConfig config) => inner.GetGlobalConsumer(config);

    [LoggerMessage(Level = LogLevel.Warning, Message = "detector: the partition counts of {Topics} could not all be read at start; Streamiz will ask the broker on its stream thread")]
    private static partial void LogNoPartitionCounts(ILogger logger, string topics);

    [LoggerMessage(Level = LogLevel.Warning, Message = "detector: no metadata for {Topics} at start ({Reason}); the first records to them will wait for it")]
    private static partial void LogNoMetadata(ILogger logger, string topics, string reason);
}
