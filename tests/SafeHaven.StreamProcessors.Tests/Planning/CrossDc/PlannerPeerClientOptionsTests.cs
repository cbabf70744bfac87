using Confluent.Kafka;
using SafeHaven.Kafka.Clients;
using SafeHaven.StreamProcessors.Planning;

namespace SafeHaven.StreamProcessors.Tests.Planning.CrossDc;

/// <summary>
/// The client settings a planner builds for a peer's cluster (<see cref="PlannerPeer.ClientOptions"/>, what every
/// cross-datacenter link connects with): the peer's own topic prefix and security where configured, the planner's own
/// where not. No broker here speaks SASL or TLS (the embedded mock cluster is plaintext only, docs/MACHINE.md), so what
/// is checked is the configuration every producer and consumer of the peer's cluster is built from, not a handshake.
/// </summary>
public sealed class PlannerPeerClientOptionsTests
{
    private static readonly KafkaOptions Own = new()
    {
        BootstrapServers = "kafka.dc1:9092", TopicPrefix = "dc1.", Partitions = 6, Cluster = "dc1-kafka",
        Security = Scram("planner-dc1", "own-secret"),
    };

    [Fact]
    public void A_peer_with_its_own_prefix_and_security_gets_clients_carrying_them_not_the_own()
    {
        var peer = new PlannerPeer { Datacenter = "dc2", BootstrapServers = "kafka.dc2:9093", TopicPrefix = "dc2.", Security = Scram("dc1-at-dc2", "peer-secret") };
        using var kafka = new KafkaClients(peer.ClientOptions(Own));
        foreach (ClientConfig config in new ClientConfig[] { kafka.Producer("p"), kafka.Consumer("g", "c"), kafka.Admin("a") })
        {
            var settings = config.ToDictionary(kv => kv.Key, kv => kv.Value);
            Assert.Equal(("kafka.dc2:9093", "dc1-at-dc2", "peer-secret", "sasl_plaintext"),
                (settings["bootstrap.servers"], settings["sasl.username"], settings["sasl.password"], settings["security.protocol"]));
        }
        Assert.Equal(("dc2.action-leases", "dc2.reservations", "dc2.commands", "dc2.results"),
            (kafka.Topics.ActionLeases, kafka.Topics.Reservations, kafka.Topics.Commands, kafka.Topics.Results));
        Assert.Equal(("dc2", 6), (kafka.Options.Cluster, kafka.Options.Partitions));
    }

    [Fact]
    public void A_peer_without_prefix_or_security_gets_the_own()
    {
        var peer = new PlannerPeer { Datacenter = "dc2", BootstrapServers = "kafka.dc2:9093", Cluster = "dc2-kafka" };
        using var kafka = new KafkaClients(peer.ClientOptions(Own));
        var settings = kafka.Producer("p").ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal(("kafka.dc2:9093", "planner-dc1", "own-secret"), (settings["bootstrap.servers"], settings["sasl.username"], settings["sasl.password"]));
        Assert.Equal(("dc1.action-leases", "dc2-kafka"), (kafka.Topics.ActionLeases, kafka.Options.Cluster));
    }

    [Fact]
    public void A_plaintext_peer_of_a_secured_planner_carries_no_credential_of_the_own()
    {
        // The own password must never be offered to another cluster that was configured without SASL.
        var peer = new PlannerPeer { Datacenter = "dc2", BootstrapServers = "kafka.dc2:9093", Security = new KafkaSecurityOptions() };
        using var kafka = new KafkaClients(peer.ClientOptions(Own));
        Assert.DoesNotContain(kafka.Consumer("g", "c"), kv => kv.Key.StartsWith("sasl.", StringComparison.Ordinal) || kv.Value == "own-secret");
    }

    [Theory]
    [InlineData("dc2/", null, "SafeHaven:Planner:Peers:0:TopicPrefix: Invalid topic prefix 'dc2/'")]
    [InlineData(null, "sasl_ssl", "SafeHaven:Planner:Peers:0:Security:SaslMechanism: is required with sasl_ssl")]
    [InlineData(null, "tls", "SafeHaven:Planner:Peers:0:Security:SecurityProtocol: 'tls' is not one of")]
    public void A_bad_peer_prefix_or_security_names_its_key(string? prefix, string? protocol, string expected)
    {
        var options = new PlannerOptions { Datacenter = "dc1", InstanceId = "p1" };
        options.Peers.Add(new PlannerPeer
        {
            Datacenter = "dc2", BootstrapServers = "kafka.dc2:9093", TrustedKeys = "/keys/dc2", TopicPrefix = prefix,
            Security = protocol is null ? null : new KafkaSecurityOptions { SecurityProtocol = protocol },
        });
        var e = Assert.ThrowsAny<ArgumentException>(options.Validate);
        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
    }

    private static KafkaSecurityOptions Scram(string user, string password) => new()
    {
        SecurityProtocol = "sasl_plaintext", SaslMechanism = "SCRAM-SHA-512", SaslUsername = user, SaslPassword = password,
    };
}
