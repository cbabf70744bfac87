using SafeHaven.Kafka.Clients;
using Streamiz.Kafka.Net;

namespace SafeHaven.StreamProcessors.Streams;

/// <summary>The connection security of a Streamiz topology's clients.</summary>
public static class StreamConfigSecurity
{
    /// <summary>
    /// Sets <paramref name="security"/> on a Streamiz configuration, which passes it to every client of the topology
    /// (consumers, producers, admin, restore and global consumers): the same values that
    /// <see cref="KafkaSecurity.ApplyTo(Confluent.Kafka.ClientConfig)"/> writes on a Confluent configuration
    /// (<see cref="KafkaSecurity.Settings"/>).
    /// </summary>
    /// <remarks>
    /// Property by property, from the one resolved <see cref="KafkaSecurity"/>, because Streamiz 1.8 offers no way to hand
    /// it librdkafka's keys and values for every client: StreamConfig shares no type with ClientConfig; its
    /// <c>AddConfig(key, value)</c> sets the typed property behind a key by reflection, so librdkafka's string values
    /// ("sasl_ssl") do not convert; and its raw per-client keys exist only for the main, restore and global consumers and
    /// the producer (<c>MainConsumerPrefix</c> …), not for the admin client. Its typed properties are the one route to all
    /// five. That this list and <see cref="KafkaSecurity.Settings"/> stay in step is checked key for key by
    /// DetectorStreamConfigSecurityTests: a setting added to one and not the other fails it.
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
