using Confluent.Kafka;
using SafeHaven.Kafka.Clients;

namespace SafeHaven.Kafka.Tests.Security;

/// <summary>
/// Every configuration <see cref="KafkaClients"/> builds carries the security settings, and librdkafka accepts them:
/// a client builds with the CA, certificate and key, and refuses a CA that is not one. No broker here speaks TLS (the
/// embedded mock cluster is plaintext only), so the handshake itself is not exercised: docs/SECURITY.md says so.
/// </summary>
public sealed class KafkaClientsSecurityTests : IDisposable
{
    private readonly TestCredentials _files = new();

    [Fact]
    public void Producer_consumer_and_admin_configs_carry_the_security_settings()
    {
        using var kafka = new KafkaClients(Secured());
        var configs = new Dictionary<string, ClientConfig>
        {
            ["producer"] = kafka.Producer("p"),
            ["consumer"] = kafka.Consumer("g", "c"),
            ["admin"] = kafka.Admin("a"),
        };
        foreach (var (role, config) in configs)
        {
            var settings = config.ToDictionary(kv => kv.Key, kv => kv.Value);
            Assert.True(Expected.All(kv => settings.TryGetValue(kv.Key, out var v) && v == kv.Value(_files)),
                $"{role}: {string.Join(", ", settings.Where(kv => kv.Key.StartsWith('s')).Select(kv => $"{kv.Key}={kv.Value}"))}");
            // The tuning of each kind is kept: security is added, nothing replaced.
            Assert.Equal("kafka:9093", settings["bootstrap.servers"]);
        }
        Assert.Equal(Acks.All, ((ProducerConfig)configs["producer"]).Acks);
        Assert.Equal(1, ((ConsumerConfig)configs["consumer"]).FetchWaitMaxMs);
    }

    [Fact]
    public void Plaintext_configs_set_no_security_key()
    {
        using var kafka = new KafkaClients(new KafkaOptions { BootstrapServers = "kafka:9092" });
        foreach (ClientConfig config in new ClientConfig[] { kafka.Producer("p"), kafka.Consumer("g", "c"), kafka.Admin("a") })
        {
            Assert.DoesNotContain(config, kv => kv.Key.StartsWith("sasl.", StringComparison.Ordinal) || kv.Key.StartsWith("ssl.", StringComparison.Ordinal) || kv.Key == "security.protocol");
        }
    }

    [Fact]
    public void Librdkafka_builds_clients_from_the_secured_config()
    {
        using var kafka = new KafkaClients(Secured());
        // Building loads the CA, the certificate and the key into librdkafka's TLS context and checks the SASL settings;
        // nothing connects until the first request.
        using var producer = new ProducerBuilder<string, byte[]>(kafka.Producer("p")).Build();
        using var admin = new AdminClientBuilder(kafka.Admin("a")).Build();
        Assert.NotNull(producer.Name);
        Assert.NotNull(admin.Name);
    }

    [Fact]
    public void Librdkafka_refuses_a_ca_file_that_is_not_a_certificate()
    {
        var options = Secured();
        options.Security.SslCaLocation = _files.Write("bogus-ca.pem", "not a certificate\n", UnixFileMode.UserRead | UnixFileMode.UserWrite);
        using var kafka = new KafkaClients(options);
        var e = Assert.Throws<InvalidOperationException>(() => new ProducerBuilder<string, byte[]>(kafka.Producer("p")).Build().Dispose());
        Assert.Contains("ssl.ca.location", e.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _files.Dispose();

    // librdkafka's names and values: what a broker operator compares with the broker's listener settings.
    internal static readonly Dictionary<string, Func<TestCredentials, string>> Expected = new()
    {
        ["security.protocol"] = _ => "sasl_ssl",
        ["sasl.mechanism"] = _ => "SCRAM-SHA-512",
        ["sasl.username"] = _ => "probe",
        ["sasl.password"] = _ => "s3cret-pw",
        ["ssl.ca.location"] = f => f.CaFile,
        ["ssl.certificate.location"] = f => f.CertificateFile,
        ["ssl.key.location"] = f => f.KeyFile,
        ["ssl.endpoint.identification.algorithm"] = _ => "https",
    };

    private KafkaOptions Secured() => new()
    {
        BootstrapServers = "kafka:9093",
        Security =
        {
            SecurityProtocol = "sasl_ssl",
            SaslMechanism = "SCRAM-SHA-512",
            SaslUsername = "probe",
            SaslPasswordFile = _files.PasswordFile,
            SslCaLocation = _files.CaFile,
            SslCertificateLocation = _files.CertificateFile,
            SslKeyLocation = _files.KeyFile,
        },
    };
}
