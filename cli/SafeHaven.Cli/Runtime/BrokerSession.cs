using Confluent.Kafka;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Embedded;
using SafeHaven.Kafka.Topics;
using SafeHaven.StreamProcessors.Detection;

namespace SafeHaven.Cli.Runtime;

/// <summary>
/// The Kafka a command talks to: the embedded broker (started here, topics created through the
/// mock API) or an external cluster (topics checked and created through the AdminClient).
/// </summary>
internal sealed class BrokerSession : IDisposable
{
    private readonly EmbeddedBroker? _embedded;

    private BrokerSession(EmbeddedBroker? embedded, string bootstrap)
    {
        _embedded = embedded;
        Bootstrap = bootstrap;
    }

    /// <summary>Bootstrap servers.</summary>
    public string Bootstrap { get; }

    /// <summary>True when this process hosts the embedded broker.</summary>
    public bool Embedded => _embedded is not null;

    /// <summary>Every topic SafeHaven uses, its own topologies' internal topics included.</summary>
    public static IReadOnlyList<TopicSpec> AllTopics(TopicNames names, int partitions, string detectorApplicationId) =>
        [.. names.All(partitions), .. DetectorTopology.InternalTopics(detectorApplicationId, partitions)];

    /// <summary>Connects to <paramref name="bootstrap"/>, or starts the embedded broker when it is null, and ensures the topics.</summary>
    public static Task<BrokerSession> OpenAsync(string? bootstrap, IReadOnlyList<TopicSpec> topics, CancellationToken ct) =>
        OpenAsync(bootstrap, new KafkaSecurityOptions(), topics, ct);

    /// <summary>As <see cref="OpenAsync(string?, IReadOnlyList{TopicSpec}, CancellationToken)"/>, connecting to an external cluster with <paramref name="security"/>.</summary>
    public static async Task<BrokerSession> OpenAsync(string? bootstrap, KafkaSecurityOptions security, IReadOnlyList<TopicSpec> topics, CancellationToken ct)
    {
        if (bootstrap is null)
        {
            SecurityFlags.RequirePlaintextForEmbedded(security);
            var broker = EmbeddedBroker.Start(1);
            try
            {
                await new MockTopicProvisioner(broker).EnsureAsync(topics, ct).ConfigureAwait(false);
                return new BrokerSession(broker, broker.BootstrapServers);
            }
            catch
            {
                broker.Dispose();
                throw;
            }
        }
        await new AdminTopicProvisioner(AdminConfig(bootstrap, security)).EnsureAsync(topics, ct).ConfigureAwait(false);
        return new BrokerSession(null, bootstrap);
    }

    /// <summary>Admin client settings for <paramref name="bootstrap"/> with <paramref name="security"/> applied.</summary>
    public static AdminClientConfig AdminConfig(string bootstrap, KafkaSecurityOptions security)
    {
        var config = new AdminClientConfig { BootstrapServers = bootstrap, ClientId = "safehaven-topics" };
        security.Resolve().ApplyTo(config);
        return config;
    }

    public void Dispose() => _embedded?.Dispose();
}
