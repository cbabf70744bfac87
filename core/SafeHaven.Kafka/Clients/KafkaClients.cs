using Confluent.Kafka;
using Confluent.SchemaRegistry;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;

namespace SafeHaven.Kafka.Clients;

/// <summary>
/// Builds producer and consumer configurations for one deployment, with the settings measured
/// to work on the embedded broker as well as on Apache Kafka (docs/MACHINE.md: fetch wait, queue backoff).
/// </summary>
public sealed class KafkaClients : IDisposable
{
    private readonly CachedSchemaRegistryClient? _registry;

    /// <summary>Creates the factory; validates <paramref name="options"/>.</summary>
    public KafkaClients(KafkaOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        Topics = new TopicNames(options.TopicPrefix);
        // The secret files are read once, here, at start: a rotated password takes effect on restart.
        Security = options.Security.Resolve();
        if (options.SchemaRegistryUrl.Length > 0)
        {
            _registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = options.SchemaRegistryUrl });
            Serdes = new KafkaSerdes(_registry);
        }
        else
        {
            Serdes = new KafkaSerdes();
        }
    }

    /// <summary>The settings.</summary>
    public KafkaOptions Options { get; }

    /// <summary>Topic names under the configured prefix.</summary>
    public TopicNames Topics { get; }

    /// <summary>The role keys this process seals with and the keys it trusts; <see cref="RoleSeals.None"/> unless set.</summary>
    public RoleSeals Seals { get; init; } = RoleSeals.None;

    /// <summary>Avro serializers for the configured wire format.</summary>
    public KafkaSerdes Serdes { get; }

    /// <summary>The connection security every configuration built here carries (Streamiz's too: pass it to its config).</summary>
    public KafkaSecurity Security { get; }

    /// <summary>Producer settings: idempotent, acks=all, latency-tuned unless disabled.</summary>
    public ProducerConfig Producer(string clientId) => Secured(new ProducerConfig
    {
        BootstrapServers = Options.BootstrapServers,
        ClientId = clientId,
        EnableIdempotence = true,
        Acks = Acks.All,
        LingerMs = Options.LowLatency ? 0 : 10,
        // Nagle plus delayed ACKs holds small requests for tens of milliseconds on loopback.
        SocketNagleDisable = true,
        BatchNumMessages = 10_000,
    });

    /// <summary>Consumer settings for group <paramref name="groupId"/>, reading from the earliest offset.</summary>
    public ConsumerConfig Consumer(string groupId, string clientId) => Secured(new ConsumerConfig
    {
        BootstrapServers = Options.BootstrapServers,
        GroupId = groupId,
        ClientId = clientId,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        EnableAutoCommit = true,
        FetchWaitMaxMs = Options.LowLatency ? 1 : 100,
        SocketNagleDisable = true,
        QueuedMinMessages = 1_000_000,
        FetchQueueBackoffMs = 10,
        SessionTimeoutMs = 6000,
        HeartbeatIntervalMs = 1000,
    });

    /// <summary>Admin client settings (topic provisioning, metadata).</summary>
    public AdminClientConfig Admin(string clientId) => Secured(new AdminClientConfig
    {
        BootstrapServers = Options.BootstrapServers,
        ClientId = clientId,
        SocketNagleDisable = true,
    });

    private T Secured<T>(T config)
        where T : ClientConfig
    {
        Security.ApplyTo(config);
        return config;
    }

    /// <inheritdoc/>
    public void Dispose() => _registry?.Dispose();
}
