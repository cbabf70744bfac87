using System.Net;
using System.Net.Sockets;
using SafeHaven.Kafka.Embedded;
using SafeHaven.Kafka.Topics;

namespace SafeHaven.Kafka.Tests.Topics;

public sealed class KafkaApiProbeTests
{
    [Fact]
    public async Task Probe_lists_the_mock_clusters_apis_which_lack_CreateTopics()
    {
        using var broker = EmbeddedBroker.Start();
        var apis = await KafkaApiProbe.TryGetApiKeysAsync(broker.BootstrapServers, TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.NotNull(apis);
        Assert.Contains((short)0, apis);   // Produce
        Assert.Contains((short)3, apis);   // Metadata
        Assert.DoesNotContain(KafkaApiProbe.CreateTopicsKey, apis);
    }

    [Fact]
    public async Task Probe_gives_up_quietly_on_a_listener_that_never_answers()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var apis = await KafkaApiProbe.TryGetApiKeysAsync($"PLAINTEXT://127.0.0.1:{port}", TimeSpan.FromMilliseconds(300), CancellationToken.None);
        Assert.Null(apis);
    }
}
