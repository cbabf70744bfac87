using System.Reflection;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using SafeHaven.StreamProcessors.Streams;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.Kafka;
using Streamiz.Kafka.Net.Metrics;
using Streamiz.Kafka.Net.Processors;

namespace SafeHaven.StreamProcessors.Tests.Streams;

/// <summary>
/// The admin client Streamiz's sinks ask for a partition count (<c>StreamsProducer.PartitionsFor</c>): through the
/// warm supplier it asks the broker at start only, and the partitioner still gets the same count.
/// </summary>
public sealed class WarmKafkaSupplierTests
{
    [Fact]
    public void Sink_topics_are_read_once_when_the_admin_client_is_made_and_never_again_by_the_caller()
    {
        var inner = new FakeSupplier(new Dictionary<string, int> { ["det"] = 3, ["dlq"] = 3, ["other"] = 5 });
        var supplier = new WarmKafkaSupplier(inner, ["det", "dlq", "det-changelog"], ["det", "dlq"], TimeSpan.FromHours(1), NullLogger.Instance);

        using var admin = supplier.GetAdmin(new AdminClientConfig());
        Assert.Equal(2, inner.Lookups.Count); // det and dlq, at start
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(3, admin.GetMetadata("det", TimeSpan.FromSeconds(5)).Topics.Single(t => t.Topic == "det").Partitions.Count);
        }
        Assert.Equal(5, admin.GetMetadata("other", TimeSpan.FromSeconds(5)).Topics.Single().Partitions.Count);
        Assert.Equal(["det", "dlq", "other"], inner.Lookups.Order());
    }

    [Theory]
    [InlineData(true)] // Streamiz's default, and the detector's: every key is hashed by the producer (Partition.Any)
    [InlineData(false)] // the source partition when the sink topic has it
    public void The_default_partitioner_gets_the_same_count_and_so_picks_the_same_partition(bool reshuffleEveryKey)
    {
        var counts = new Dictionary<string, int> { ["det"] = 3 };
        using var direct = new FakeSupplier(counts).GetAdmin(new AdminClientConfig());
        using var warm = new WarmKafkaSupplier(new FakeSupplier(counts), ["det"], ["det"], TimeSpan.FromHours(1), NullLogger.Instance)
            .GetAdmin(new AdminClientConfig());
        var config = SafeHaven.StreamProcessors.Detection.DetectorStreamConfig.Create("app", "127.0.0.1:1");
        Assert.True(config.DefaultPartitionerReshuffleEveryKey); // the detector keeps Streamiz's default
        config.DefaultPartitionerReshuffleEveryKey = reshuffleEveryKey;
        var partitioner = new DefaultStreamPartitioner<string, string>();
        partitioner.Initialize(config);

        // What SinkProcessor does: Partition(topic, key, value, source partition, PartitionsFor(topic)).
        for (var source = 0; source < 5; source++)
        {
            var expected = reshuffleEveryKey || source >= 3 ? Partition.Any : new Partition(source);
            Assert.Equal(expected, partitioner.Partition("det", "k", "v", new Partition(source), Count(direct)));
            Assert.Equal(expected, partitioner.Partition("det", "k", "v", new Partition(source), Count(warm)));
        }

        static int Count(IAdminClient admin) => admin.GetMetadata("det", TimeSpan.FromSeconds(5)).Topics.Single(t => t.Topic == "det").Partitions.Count;
    }

    /// <summary>A supplier whose admin clients answer metadata from <c>counts</c> and record every lookup.</summary>
    private sealed class FakeSupplier(Dictionary<string, int> counts) : IKafkaSupplier
    {
        public List<string> Lookups { get; } = [];

        public StreamMetricsRegistry MetricsRegistry { get; set; } = null!;

        public IAdminClient GetAdmin(AdminClientConfig config)
        {
            var admin = DispatchProxy.Create<IAdminClient, FakeAdmin>();
            ((FakeAdmin)(object)admin).Answer = topic =>
            {
                Lookups.Add(topic);
                return TopicMetadataCacheTests.Of(topic, counts[topic]);
            };
            return admin;
        }

        public IConsumer<byte[], byte[]> GetConsumer(ConsumerConfig config, IConsumerRebalanceListener rebalanceListener) => throw new NotSupportedException();

        public IProducer<byte[], byte[]> GetProducer(ProducerConfig config) => throw new NotSupportedException();

        public IConsumer<byte[], byte[]> GetRestoreConsumer(ConsumerConfig config) => throw new NotSupportedException();

        public IConsumer<byte[], byte[]> GetGlobalConsumer(ConsumerConfig config) => throw new NotSupportedException();
    }

    /// <summary>An <see cref="IAdminClient"/> that knows only GetMetadata(topic, timeout) and Dispose.</summary>
    public class FakeAdmin : DispatchProxy
    {
        internal Func<string, Metadata> Answer { get; set; } = _ => throw new InvalidOperationException();

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => targetMethod?.Name switch
        {
            nameof(IAdminClient.GetMetadata) when args is [string topic, TimeSpan] => Answer(topic),
            nameof(IDisposable.Dispose) => null,
            _ => throw new NotSupportedException(targetMethod?.Name),
        };
    }
}
