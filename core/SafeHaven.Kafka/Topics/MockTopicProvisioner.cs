using Confluent.Kafka;
using SafeHaven.Kafka.Embedded;

namespace SafeHaven.Kafka.Topics;

/// <summary>
/// Provisions topics on the <see cref="EmbeddedBroker"/> through the mock API, since the
/// mock cluster has no CreateTopics.
/// </summary>
/// <remarks>
/// The mock has no topic configs: <see cref="TopicSpec.Compacted"/> topics are created
/// but not compacted (the mock only ever drops the oldest data of a full partition).
/// Replication factor follows the mock's default, min(3, broker count).
/// </remarks>
/// <param name="broker">The running embedded broker.</param>
public sealed class MockTopicProvisioner(EmbeddedBroker broker) : ITopicProvisioner
{
    private static readonly TimeSpan MetadataTimeout = TimeSpan.FromSeconds(10);

    private readonly EmbeddedBroker _broker = broker ?? throw new ArgumentNullException(nameof(broker));

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> EnsureAsync(IEnumerable<TopicSpec> topics, CancellationToken ct)
    {
        var specs = TopicPlan.Normalize(topics);
        var created = new List<string>();
        var existing = new List<TopicSpec>();
        foreach (var spec in specs)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                _broker.CreateTopic(spec.Name, spec.Partitions, Math.Min(3, _broker.BrokerCount));
                created.Add(spec.Name);
            }
            catch (KafkaException e) when (e.Error.Code == ErrorCode.TopicAlreadyExists)
            {
                existing.Add(spec);
            }
        }

        // The mock API says only "already exists"; metadata tells whether it has the right shape.
        if (existing.Count > 0)
        {
            using var admin = TopicPlan.CreateAdmin(_broker.BootstrapServers);
            var counts = await TopicPlan.PartitionCountsAsync(admin, MetadataTimeout, ct).ConfigureAwait(false);
            TopicPlan.CheckPartitions(existing, counts, $"the embedded broker ({_broker.BootstrapServers})");
        }

        return created;
    }
}
