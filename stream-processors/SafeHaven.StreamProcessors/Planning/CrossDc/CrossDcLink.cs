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
/// Every record read is verified; there is no unsealed mode. A planner key speaks for one datacenter only (the one whose
/// key directory it came from): a lease, request or answer naming another is refused (<see cref="SpeaksFor"/>).
/// </summary>
public sealed class CrossDcLink : IDisposable
{
    private readonly IReadOnlyDictionary<string, string> _plannerDatacenters;

    /// <summary>Connects to the cluster of <paramref name="datacenter"/>.</summary>
    /// <param name="datacenter">The datacenter this cluster belongs to.</param>
    /// <param name="options">Its client settings.</param>
    /// <param name="trusted">The keys trusted for records read there.</param>
    /// <param name="plannerDatacenters">The datacenter each trusted planner key speaks for, by key id (<see cref="PlannerKeys"/>).</param>
    /// <exception cref="ArgumentException">No trusted keys.</exception>
    public CrossDcLink(string datacenter, KafkaOptions options, RecordVerifier trusted, IReadOnlyDictionary<string, string> plannerDatacenters)
    {
        ArgumentNullException.ThrowIfNull(options);
        Datacenter = datacenter;
        Trusted = trusted ?? throw new ArgumentException("a cross-datacenter link needs trusted keys", nameof(trusted));
        _plannerDatacenters = plannerDatacenters ?? throw new ArgumentNullException(nameof(plannerDatacenters));
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

    /// <summary>
    /// Null when <paramref name="who"/> (a verified seal) is a planner key trusted for <paramref name="datacenter"/>;
    /// otherwise why not. Trusting a key on a cluster lets it write there; this says in whose name.
    /// </summary>
    public string? SpeaksFor(KeyIdentity who, string? datacenter)
    {
        ArgumentNullException.ThrowIfNull(who);
        var own = who.Role == KeyRoles.Planner ? _plannerDatacenters.GetValueOrDefault(who.KeyId) : null;
        if (own is not null && own == datacenter)
        {
            return null;
        }
        var name = datacenter is { } d && SafeHaven.Core.Identifiers.IsToken(d) ? d : "?";
        return own is null
            ? $"sealed by {who.Role} key {who.KeyId}, which is not a planner key of {name}"
            : $"sealed by planner key {who.KeyId} of {own}, which is not a planner key of {name}";
    }

    /// <summary>
    /// The datacenter of each planner key in <paramref name="keys"/> (a datacenter and the keys trusted for it: its key
    /// directory, or this planner's own trust store); a key listed for two datacenters is a configuration error.
    /// </summary>
    /// <exception cref="InvalidOperationException">One planner key listed for two datacenters.</exception>
    public static IReadOnlyDictionary<string, string> PlannerKeys(params (string Datacenter, RecordVerifier Keys)[] keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (dc, verifier) in keys)
        {
            foreach (var who in verifier.Identities.Where(i => i.Role == KeyRoles.Planner))
            {
                if (!map.TryAdd(who.KeyId, dc) && map[who.KeyId] != dc)
                {
                    throw new InvalidOperationException($"planner key {who.KeyId} is trusted for both {map[who.KeyId]} and {dc}: a key speaks for one datacenter");
                }
            }
        }
        return map;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Producer.Dispose();
        Kafka.Dispose();
    }
}
