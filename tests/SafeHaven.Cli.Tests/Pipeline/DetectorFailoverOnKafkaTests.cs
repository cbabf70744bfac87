using DotNet.Testcontainers.Builders;
using SafeHaven.Cli.Runtime;
using SafeHaven.Kafka.Topics;
using Testcontainers.Kafka;
using Xunit.Abstractions;

namespace SafeHaven.Cli.Tests.Pipeline;

/// <summary>
/// <see cref="DetectorFailoverTests"/>' scenario against Apache Kafka in a container (Testcontainers, image pinned),
/// where a Docker engine exists; elsewhere it skips and says why. Same scenario code, so both paths stay covered.
/// </summary>
[Collection(DetectorFailoverTests.Name)]
public sealed class DetectorFailoverOnKafkaTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>The broker image, pinned like docker-compose.yml's.</summary>
    public const string Image = "apache/kafka:3.9.1";

    private readonly Workloads _w = new();

    [SkippableTheory]
    [Trait("Category", "Docker")]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Kill_9_of_one_detector_on_Apache_Kafka_every_hot_entity_is_detected_within_15_s(int instances)
    {
        var (container, reason) = TryBuild();
        Skip.If(container is null, reason);
        await using var kafka = container;
        await kafka.StartAsync();
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var prefix = $"dk{suffix}.";
        var applicationId = $"dk-detector-{suffix}";
        // Through the AdminClient, as on any real cluster (topics verb).
        using var session = await BrokerSession.OpenAsync(kafka.GetBootstrapAddress(),
            BrokerSession.AllTopics(new TopicNames(prefix), DetectorFailover.Partitions, applicationId), CancellationToken.None);
        await DetectorFailover.RunAsync(_w, session.Bootstrap, prefix, applicationId, instances, output);
    }

    /// <summary>The container, or null and why not: Testcontainers throws at Build() when there is no Docker engine.</summary>
    private static (KafkaContainer?, string) TryBuild()
    {
        try
        {
            return (new KafkaBuilder(Image)
                // The detector's 3 s session (docs/SCALING.md) is below Kafka's default minimum of 6 s.
                .WithEnvironment("KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS", "3000")
                .WithEnvironment("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
                .Build(), "");
        }
        catch (DockerUnavailableException e)
        {
            return (null, $"no Docker engine here ({e.Message.Split('\n')[0]}): the failover test runs on the embedded broker only (DetectorFailoverTests)");
        }
    }

    public void Dispose() => _w.Dispose();
}
