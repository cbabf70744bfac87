using Confluent.Kafka;

namespace SafeHaven.Kafka.Clients;

/// <summary>
/// The security settings of one process, validated and with its secrets read (<see cref="KafkaSecurityOptions.Resolve"/>).
/// This is the one place they become client settings (<see cref="Settings"/>): producers, consumers and admin clients
/// get them through <see cref="ApplyTo(ClientConfig)"/>; Streamiz topologies get the same values from this object through
/// <c>StreamConfigSecurity</c> in SafeHaven.StreamProcessors (which alone depends on Streamiz, and explains why it must
/// copy them property by property), a test keeping the two in step key for key.
/// </summary>
public sealed class KafkaSecurity
{
    private IReadOnlyList<KeyValuePair<string, string>>? _settings;

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

    private List<KeyValuePair<string, string>> ToClientSettings()
    {
        // A null typed property leaves its key out: only what is set here reaches a client.
        var config = new ClientConfig
        {
            SecurityProtocol = Protocol,
            SaslMechanism = Mechanism,
            SaslUsername = Username,
            SaslPassword = Password,
            SslCaLocation = CaLocation,
            SslCertificateLocation = CertificateLocation,
            SslKeyLocation = KeyLocation,
            SslKeyPassword = KeyPassword,
            SslEndpointIdentificationAlgorithm = EndpointIdentification,
        };
        return [.. config];
    }

    /// <summary>
    /// These settings as librdkafka configuration keys and values (none for plaintext; unset ones left out): the one
    /// mapping from the options to client settings, written by Confluent's typed configuration so that names and
    /// value spellings ("sasl_ssl", "SCRAM-SHA-512") are librdkafka's own; what every Streamiz client must carry too.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> Settings => _settings ??= ReferenceEquals(this, Plaintext) ? [] : ToClientSettings();

    /// <summary>Sets these settings on a producer, consumer or admin client configuration.</summary>
    public void ApplyTo(ClientConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        foreach (var (key, value) in Settings)
        {
            config.Set(key, value);
        }
    }

    /// <summary>A description for logs: the protocol, mechanism and user, never a secret.</summary>
    public override string ToString() => Mechanism is null
        ? Protocol.ToString()
        : $"{Protocol} {Mechanism} as '{Username}'";

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}
