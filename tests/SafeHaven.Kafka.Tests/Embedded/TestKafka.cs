using Confluent.Kafka;

namespace SafeHaven.Kafka.Tests.Embedded;

/// <summary>Client settings tuned for the mock cluster, and unique names per test.</summary>
internal static class TestKafka
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    public static ProducerConfig Producer(string bootstrap) => new()
    {
        BootstrapServers = bootstrap,
        LingerMs = 5,
        ReconnectBackoffMs = 10,
        ReconnectBackoffMaxMs = 100,
        RetryBackoffMs = 10,
        MessageTimeoutMs = 60_000,
    };

    public static ConsumerConfig Consumer(string bootstrap, string group)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = group,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            FetchWaitMaxMs = 5,
            QueuedMinMessages = 1_000_000,
            SessionTimeoutMs = 6000,
        };
        config.Set("fetch.queue.backoff.ms", "10");
        return config;
    }

    public static IAdminClient Admin(string bootstrap) =>
        new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();

    /// <summary>Partition count of <paramref name="topic"/>, or null if the cluster does not list it.</summary>
    public static int? PartitionCount(string bootstrap, string topic)
    {
        using var admin = Admin(bootstrap);
        // All-topics metadata: naming a missing topic would let the mock auto-create it.
        return admin.GetMetadata(TimeSpan.FromSeconds(10)).Topics.SingleOrDefault(t => t.Topic == topic)?.Partitions.Count;
    }
}
