using Confluent.Kafka;

namespace SafeHaven.Kafka.Clients;

/// <summary>
/// The security settings of one process, validated and with its secrets read (<see cref="KafkaSecurityOptions.Resolve"/>).
/// This is the one place they reach client configurations: producers, consumers and admin clients through
/// <see cref="ApplyTo(ClientConfig)"/>; Streamiz topologies get the same settings from it (<c>StreamConfigSecurity</c> in
/// SafeHaven.StreamProcessors, which alone depends on Streamiz).
/// </summary>
public sealed class KafkaSecurity
{
    private KafkaSecurity()
    {
    }

    /// <summary>No security (the embedded broker's): applying it changes nothing.</summary>
    public static KafkaSecurity Plaintext { get; } = new();

    /// <summary>The protocol.</summary>
    public SecurityProtocol Protocol { get; private init; } = SecurityProtocol.Plaintext;

    /// <summary>The SASL mechanism, or null without SASL.</summary>
    public SaslMechanism? Mechanism { get; private init; }

    /// <summary>The SASL user name, or null without SASL.</summary>
    public string? Username { get; private init; }

    /// <summary>The SASL password as read from its file (never logged: see <see cref="ToString"/>), or null without SASL.</summary>
    public string? Password { get; private init; }

    /// <summary>CA location, client certificate and key, key passphrase, or null where not set.</summary>
    public string? CaLocation { get; private init; }

    /// <inheritdoc cref="CaLocation"/>
    public string? CertificateLocation { get; private init; }

    /// <inheritdoc cref="CaLocation"/>
    public string? KeyLocation { get; private init; }

    /// <inheritdoc cref="CaLocation"/>
    public string? KeyPassword { get; private init; }

    /// <summary>Host name verification of the broker's certificate, or null without TLS.</summary>
    public SslEndpointIdentificationAlgorithm? EndpointIdentification { get; private init; }

    internal static KafkaSecurity From(KafkaSecurityOptions o, string password, string keyPassword)
    {
        if (o.IsPlaintext)
        {
            return Plaintext;
        }
        return new KafkaSecurity
        {
            Protocol = o.Protocol switch
            {
                "ssl" => SecurityProtocol.Ssl,
                "sasl_plaintext" => SecurityProtocol.SaslPlaintext,
                _ => SecurityProtocol.SaslSsl,
            },
            Mechanism = !o.UsesSasl ? null : o.SaslMechanism.Trim().ToUpperInvariant() switch
            {
                "PLAIN" => SaslMechanism.Plain,
                "SCRAM-SHA-256" => SaslMechanism.ScramSha256,
                _ => SaslMechanism.ScramSha512,
            },
            Username = o.UsesSasl ? o.SaslUsername.Trim() : null,
            Password = o.UsesSasl ? password : null,
            CaLocation = NullIfEmpty(o.SslCaLocation),
            CertificateLocation = NullIfEmpty(o.SslCertificateLocation),
            KeyLocation = NullIfEmpty(o.SslKeyLocation),
            KeyPassword = NullIfEmpty(keyPassword),
            EndpointIdentification = !o.UsesTls ? null
                : o.SslEndpointIdentification.Trim().Equals("none", StringComparison.OrdinalIgnoreCase)
                    ? SslEndpointIdentificationAlgorithm.None
                    : SslEndpointIdentificationAlgorithm.Https,
        };
    }

    /// <summary>Sets these settings on a producer, consumer or admin client configuration.</summary>
    public void ApplyTo(ClientConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (ReferenceEquals(this, Plaintext))
        {
            return;
        }
        config.SecurityProtocol = Protocol;
        config.SaslMechanism = Mechanism;
        config.SaslUsername = Username;
        config.SaslPassword = Password;
        config.SslCaLocation = CaLocation;
        config.SslCertificateLocation = CertificateLocation;
        config.SslKeyLocation = KeyLocation;
        config.SslKeyPassword = KeyPassword;
        config.SslEndpointIdentificationAlgorithm = EndpointIdentification;
    }

    /// <summary>A description for logs: the protocol, mechanism and user, never a secret.</summary>
    public override string ToString() => Mechanism is null
        ? Protocol.ToString()
        : $"{Protocol} {Mechanism} as '{Username}'";

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}
