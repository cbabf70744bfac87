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

        var clients = new Dictionary<string, ClientConfig>
        {
            ["consumer"] = config.ToConsumerConfig("c"),
            ["producer"] = config.ToProducerConfig("p"),
            ["admin"] = config.ToAdminConfig("a"),
            ["restore"] = config.ToRestoreConsumerConfig("r"),
            ["global"] = config.ToGlobalConsumerConfig("g"),
        };
        foreach (var (kind, client) in clients)
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
    public void Without_security_the_streamiz_clients_stay_plaintext()
    {
        var config = DetectorStreamConfig.Create("safehaven-detector", "kafka:9092");
        Assert.DoesNotContain(config.ToConsumerConfig("c"), kv => kv.Key.StartsWith("sasl.", StringComparison.Ordinal) || kv.Key == "security.protocol");
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
