using SafeHaven.Kafka.Clients;
using Streamiz.Kafka.Net;

namespace SafeHaven.StreamProcessors.Streams;

/// <summary>The connection security of a Streamiz topology's clients.</summary>
public static class StreamConfigSecurity
{
    /// <summary>
    /// Sets <paramref name="security"/> on a Streamiz configuration, which passes it to every client of the topology
    /// (consumers, producers, admin, restore and global consumers): the same keys and values
    /// (<see cref="KafkaSecurity.Settings"/>) that <see cref="KafkaSecurity.ApplyTo(Confluent.Kafka.ClientConfig)"/> writes
    /// on a Confluent configuration, so the two cannot drift apart.
    /// </summary>
    /// <remarks>
    /// Through Streamiz's per-client string settings (<c>AddConsumerConfig</c>, <c>AddProducerConfig</c>,
    /// <c>AddAdminConfig</c>), which its <c>To*Config</c> merge into every client configuration they build. Not
    /// <c>AddConfig</c>: that also adds the key to the stream's own properties, where a second call for the same key throws.
    /// </remarks>
    public static void ApplyTo(this KafkaSecurity security, StreamConfig config)
    {
        ArgumentNullException.ThrowIfNull(security);
        ArgumentNullException.ThrowIfNull(config);
        foreach (var (key, value) in security.Settings)
        {
            config.AddConsumerConfig(key, value);
            config.AddProducerConfig(key, value);
            config.AddAdminConfig(key, value);
        }
    }
}
