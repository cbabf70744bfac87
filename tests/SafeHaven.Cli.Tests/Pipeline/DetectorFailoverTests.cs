using SafeHaven.Cli.Runtime;
using SafeHaven.Kafka.Topics;
using Xunit.Abstractions;

namespace SafeHaven.Cli.Tests.Pipeline;

/// <summary>
/// Issue 13's done-when test on the embedded broker (the real Kafka protocol over TCP): kill -9 of one of two, and of
/// one of three, detector processes mid-stream; every hot entity is detected within 15 s and no window gets two ids.
/// <see cref="DetectorFailoverOnKafkaTests"/> runs the same scenario against Apache Kafka where Docker exists.
/// </summary>
[Collection(Name)]
public sealed class DetectorFailoverTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>Failover runs load both cores for a minute: alone, so that other tests' timings stay theirs.</summary>
    public const string Name = "detector failover (alone)";

    private readonly Workloads _w = new();

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Kill_9_of_one_detector_every_hot_entity_is_detected_within_15_s_and_no_window_gets_two_ids(int instances)
    {
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var prefix = $"df{suffix}.";
        var applicationId = $"df-detector-{suffix}";
        using var broker = await BrokerSession.OpenAsync(null,
            BrokerSession.AllTopics(new TopicNames(prefix), DetectorFailover.Partitions, applicationId), CancellationToken.None);
        await DetectorFailover.RunAsync(_w, broker.Bootstrap, prefix, applicationId, instances, output);
    }

    public void Dispose() => _w.Dispose();
}

/// <summary>Runs the failover tests alone.</summary>
[CollectionDefinition(DetectorFailoverTests.Name, DisableParallelization = true)]
public sealed class DetectorFailoverAlone;
