using Confluent.Kafka;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;
using SafeHaven.Security;

namespace SafeHaven.StreamProcessors.Planning.CrossDc;

/// <summary>
/// Who a planner is in the cross-datacenter protocol: its datacenter, its cluster, its instance, and its two keys (record
/// seals for leases and reservations, command signatures for the moves it orders).
/// </summary>
/// <param name="Datacenter">The planner's datacenter.</param>
/// <param name="Cluster">The planner's own cluster id.</param>
/// <param name="Planner">The planner instance id.</param>
/// <param name="Seal">Its planner record key.</param>
/// <param name="Commands">Its command key; the agents of the other datacenter must trust the public half.</param>
public sealed record PlannerIdentity(string Datacenter, string Cluster, string Planner, RecordSigner Seal, CommandSigner Commands);

/// <summary>
/// One datacenter's cluster as a cross-datacenter planner sees it: a producer, the topic names, and the keys trusted for
/// what is read there (the planner keys of every datacenter allowed to move entities in, and that datacenter's actuators).
/// Every record read is verified; there is no unsealed mode.
/// </summary>
public sealed class CrossDcLink : IDisposable
{
    /// <summary>Connects to the cluster of <paramref name="datacenter"/>.</summary>
    /// <exception cref="ArgumentException">No trusted keys.</exception>
    public CrossDcLink(string datacenter, KafkaOptions options, RecordVerifier trusted)
    {
        ArgumentNullException.ThrowIfNull(options);
        Datacenter = datacenter;
        Trusted = trusted ?? throw new ArgumentException("a cross-datacenter link needs trusted keys", nameof(trusted));
        Kafka = new KafkaClients(options);
        Producer = new ProducerBuilder<string, byte[]>(Kafka.Producer("safehaven-crossdc-" + datacenter)).Build();
    }

    /// <summary>The datacenter this cluster belongs to.</summary>
    public string Datacenter { get; }

    /// <summary>The cluster's clients.</summary>
    public KafkaClients Kafka { get; }

    /// <summary>Topic names in this cluster.</summary>
    public TopicNames Topics => Kafka.Topics;

    /// <summary>Keys trusted for records read here.</summary>
    public RecordVerifier Trusted { get; }

    /// <summary>The producer (idempotent, acks=all).</summary>
    public IProducer<string, byte[]> Producer { get; }

    /// <summary>Writes a record sealed by <paramref name="seal"/> to partition 0 of <paramref name="topic"/>; null value: a tombstone.</summary>
    public async Task<long> ProduceSealedAsync(string topic, string kind, string key, byte[]? value, RecordSigner seal, CancellationToken ct)
    {
        var message = new Message<string, byte[]> { Key = key, Value = value!, Headers = Seals.Headers(seal, kind, key, value) };
        var report = await Producer.ProduceAsync(new TopicPartition(topic, 0), message, ct).ConfigureAwait(false);
        return report.Offset.Value;
    }

    /// <summary>A consumer of this cluster that commits nothing (the cross-datacenter readers assign partitions themselves).</summary>
    public IConsumer<string, byte[]> Consumer(string name)
    {
        var config = Kafka.Consumer("safehaven-crossdc-" + name + "-" + Guid.NewGuid().ToString("N"), "safehaven-crossdc-" + name);
        config.EnableAutoCommit = false;
        return new ConsumerBuilder<string, byte[]>(config).Build();
    }

    /// <summary>The record if its seal is from a trusted key whose role may write <paramref name="kind"/>; otherwise why not.</summary>
    public (KeyIdentity? Who, string? Problem) Verify(string kind, Message<string, byte[]> message)
    {
        try
        {
            return (Seals.Require(Trusted, kind, message), null);
        }
        catch (RecordRejectedException e)
        {
            return (null, e.Message);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Producer.Dispose();
        Kafka.Dispose();
    }
}
