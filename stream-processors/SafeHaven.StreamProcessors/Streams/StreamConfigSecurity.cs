using SafeHaven.Kafka.Clients;
using Streamiz.Kafka.Net;

namespace SafeHaven.StreamProcessors.Streams;

/// <summary>The connection security of a Streamiz topology's clients.</summary>
public static class StreamConfigSecurity
{
    /// <summary>
    /// Sets <paramref name="security"/> on a Streamiz configuration, which passes it to every client of the topology
    /// (consumers, producers, admin, restore and global consumers): the same settings
    /// <see cref="KafkaSecurity.ApplyTo(Confluent.Kafka.ClientConfig)"/> writes on a Confluent configuration.
    /// </summary>
    /// <remarks>
    /// Property by property: StreamConfig shares no type with ClientConfig, and its <c>AddConfig(key, value)</c> sets
    /// the typed property behind a key by reflection, so librdkafka's string values ("sasl_ssl") do not convert.
    /// </remarks>
    public static void ApplyTo(this KafkaSecurity security, StreamConfig config)
    {
        ArgumentNullException.ThrowIfNull(security);
        ArgumentNullException.ThrowIfNull(config);
        if (ReferenceEquals(security, KafkaSecurity.Plaintext))
        {
            return;
        }
        config.SecurityProtocol = security.Protocol;
        config.SaslMechanism = security.Mechanism;
        config.SaslUsername = security.Username;
        config.SaslPassword = security.Password;
        config.SslCaLocation = security.CaLocation;
        config.SslCertificateLocation = security.CertificateLocation;
        config.SslKeyLocation = security.KeyLocation;
        config.SslKeyPassword = security.KeyPassword;
        config.SslEndpointIdentificationAlgorithm = security.EndpointIdentification;
    }
}
