using Confluent.Kafka;
using SafeHaven.Kafka.Clients;
using SafeHaven.StreamProcessors.Detection;

namespace SafeHaven.StreamProcessors.Tests.Detection;

/// <summary>The detector's Streamiz config hands the security settings to every client Streamiz builds from it.</summary>
public sealed class DetectorStreamConfigSecurityTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("safehaven-streamiz-security-");

    [Fact]
    public void Every_streamiz_client_config_carries_the_security_settings()
    {
        var password = Path.Join(_dir.FullName, "detector.password");
        File.WriteAllText(password, "detector-pw\n");
        File.SetUnixFileMode(password, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var ca = Path.Join(_dir.FullName, "ca.pem");
        File.WriteAllText(ca, "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n");
        using var kafka = new KafkaClients(new KafkaOptions
        {
            BootstrapServers = "kafka:9093",
            Security = { SecurityProtocol = "sasl_ssl", SaslMechanism = "SCRAM-SHA-512", SaslUsername = "detector", SaslPasswordFile = password, SslCaLocation = ca },
        });

        var config = DetectorStreamConfig.Create("safehaven-detector", kafka.Options.BootstrapServers, security: kafka.Security);

        foreach (var (kind, client) in Clients(config))
        {
            var settings = client.ToDictionary(kv => kv.Key, kv => kv.Value);
            Assert.True(settings.GetValueOrDefault("security.protocol") == "sasl_ssl", $"{kind}: security.protocol {settings.GetValueOrDefault("security.protocol")}");
            Assert.Equal("SCRAM-SHA-512", settings.GetValueOrDefault("sasl.mechanism"));
            Assert.Equal("detector", settings.GetValueOrDefault("sasl.username"));
            Assert.Equal("detector-pw", settings.GetValueOrDefault("sasl.password"));
            Assert.Equal(ca, settings.GetValueOrDefault("ssl.ca.location"));
            Assert.Equal("https", settings.GetValueOrDefault("ssl.endpoint.identification.algorithm"));
        }
    }

    [Fact]
    public void Streamiz_clients_get_each_security_setting_exactly_as_the_confluent_clients_do()
    {
        // Every option set: SASL over TLS, a client certificate, its key and the key's passphrase, no host name check.
        var ca = Write("ca.pem", "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n");
        using var kafka = new KafkaClients(new KafkaOptions
        {
            BootstrapServers = "kafka:9093",
            Security =
            {
                SecurityProtocol = "sasl_ssl", SaslMechanism = "SCRAM-SHA-256", SaslUsername = "siem",
                SaslPasswordFile = Write("siem.password", "siem-pw\n"), SslCaLocation = ca,
                SslCertificateLocation = Write("client.pem", "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"),
                SslKeyLocation = Write("client.key", "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"),
                SslKeyPasswordFile = Write("client.key.password", "key-pw\n"), SslEndpointIdentification = "none",
            },
        });
        var confluent = SecurityOf(kafka.Consumer("g", "c"));
        Assert.Equal(SecurityOf(kafka.Producer("p")), confluent);
        Assert.Equal(SecurityOf(kafka.Admin("a")), confluent);
        Assert.Equal(
            ["sasl.mechanism", "sasl.password", "sasl.username", "security.protocol", "ssl.ca.location", "ssl.certificate.location",
                "ssl.endpoint.identification.algorithm", "ssl.key.location", "ssl.key.password"],
            confluent.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(("sasl_ssl", "SCRAM-SHA-256", "siem-pw", "key-pw", "none"),
            (confluent["security.protocol"], confluent["sasl.mechanism"], confluent["sasl.password"], confluent["ssl.key.password"],
                confluent["ssl.endpoint.identification.algorithm"]));

        var config = DetectorStreamConfig.Create("safehaven-siem", kafka.Options.BootstrapServers, security: kafka.Security);

        foreach (var (kind, client) in Clients(config))
        {
            var streamiz = SecurityOf(client);
            Assert.True(streamiz.Count == confluent.Count, $"{kind}: {string.Join(", ", streamiz.Keys)}");
            foreach (var (key, value) in confluent)
            {
                Assert.True(streamiz.GetValueOrDefault(key) == value, $"{kind}: {key} is '{streamiz.GetValueOrDefault(key)}', the Confluent clients' '{value}'");
            }
        }
    }

    [Fact]
    public void Without_security_the_streamiz_clients_stay_plaintext()
    {
        var config = DetectorStreamConfig.Create("safehaven-detector", "kafka:9092");
        Assert.DoesNotContain(config.ToConsumerConfig("c"), kv => kv.Key.StartsWith("sasl.", StringComparison.Ordinal) || kv.Key == "security.protocol");
    }

    public void Dispose() => _dir.Delete(recursive: true);

    private static Dictionary<string, ClientConfig> Clients(Streamiz.Kafka.Net.StreamConfig config) => new()
    {
        ["consumer"] = config.ToConsumerConfig("c"),
        ["producer"] = config.ToProducerConfig("p"),
        ["admin"] = config.ToAdminConfig("a"),
        ["restore"] = config.ToRestoreConsumerConfig("r"),
        ["global"] = config.ToGlobalConsumerConfig("g"),
    };

    // The connection security part of a client configuration.
    private static Dictionary<string, string> SecurityOf(ClientConfig config) => config
        .Where(kv => kv.Key == "security.protocol" || kv.Key.StartsWith("sasl.", StringComparison.Ordinal) || kv.Key.StartsWith("ssl.", StringComparison.Ordinal))
        .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);

    // Secrets and keys must be private to this user (KafkaSecurityOptions refuses them otherwise).
    private string Write(string name, string content)
    {
        var path = Path.Join(_dir.FullName, name);
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }
}
