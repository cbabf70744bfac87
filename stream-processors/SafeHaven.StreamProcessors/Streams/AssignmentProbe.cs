using Confluent.Kafka;
using Streamiz.Kafka.Net.Kafka;
using Streamiz.Kafka.Net.Metrics;

namespace SafeHaven.StreamProcessors.Streams;

/// <summary>
/// Streamiz's clients from <paramref name="inner"/>, with the stream threads' main consumers remembered so that
/// <see cref="HeldPartitions"/> can read what librdkafka has actually assigned (Streamiz exposes no such count).
/// </summary>
/// <param name="inner">The supplier making the clients.</param>
public sealed class AssignmentProbe(IKafkaSupplier inner) : IKafkaSupplier
{
    private readonly List<IConsumer<byte[], byte[]>> _consumers = [];
    private long _assignments;

    /// <summary>How many non-empty assignments the stream threads' consumers have received.</summary>
    public long Assignments => Interlocked.Read(ref _assignments);

    /// <inheritdoc/>
    public StreamMetricsRegistry MetricsRegistry
    {
        get => inner.MetricsRegistry;
        set => inner.MetricsRegistry = value;
    }

    /// <summary>
    /// Partitions assigned to the stream threads' consumers now; 0 once they are closed. librdkafka's assignment
    /// query is thread-safe, so this may be called beside the stream threads.
    /// </summary>
    public int HeldPartitions()
    {
        lock (_consumers)
        {
            var held = 0;
            foreach (var consumer in _consumers)
            {
                try
                {
                    held += consumer.Assignment.Count;
                }
                catch (ObjectDisposedException)
                {
                    // A closed consumer holds nothing.
                }
                catch (KafkaException)
                {
                    // Neither does one being closed.
                }
            }
            return held;
        }
    }

    /// <inheritdoc/>
    public IConsumer<byte[], byte[]> GetConsumer(ConsumerConfig config, IConsumerRebalanceListener rebalanceListener)
    {
        var consumer = inner.GetConsumer(config, new Counting(rebalanceListener, this));
        lock (_consumers)
        {
            _consumers.Add(consumer);
        }
        return consumer;
    }

    /// <inheritdoc/>
    public IAdminClient GetAdmin(AdminClientConfig config) => inner.GetAdmin(config);

    /// <inheritdoc/>
    public IProducer<byte[], byte[]> GetProducer(ProducerConfig config) => inner.GetProducer(config);

    /// <inheritdoc/>
    public IConsumer<byte[], byte[]> GetRestoreConsumer(ConsumerConfig config) => inner.GetRestoreConsumer(config);

    /// <inheritdoc/>
    public IConsumer<byte[], byte[]> GetGlobalConsumer(ConsumerConfig config) => inner.GetGlobalConsumer(config);

    /// <summary>Streamiz's rebalance listener, counting the assignments it is handed.</summary>
    private sealed class Counting(IConsumerRebalanceListener inner, AssignmentProbe probe) : IConsumerRebalanceListener
    {
        public void PartitionsAssigned(IConsumer<byte[], byte[]> consumer, List<TopicPartition> partitions)
        {
            if (partitions.Count > 0)
            {
                Interlocked.Increment(ref probe._assignments);
            }
            inner.PartitionsAssigned(consumer, partitions);
        }

        public void PartitionsRevoked(IConsumer<byte[], byte[]> consumer, List<TopicPartitionOffset> partitions) =>
            inner.PartitionsRevoked(consumer, partitions);

        public void PartitionsLost(IConsumer<byte[], byte[]> consumer, List<TopicPartitionOffset> partitions) =>
            inner.PartitionsLost(consumer, partitions);
    }
}
