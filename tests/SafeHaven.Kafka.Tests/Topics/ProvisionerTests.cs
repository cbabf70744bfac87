using SafeHaven.Kafka.Embedded;
using SafeHaven.Kafka.Tests.Embedded;
using SafeHaven.Kafka.Topics;

namespace SafeHaven.Kafka.Tests.Topics;

/// <summary>Both provisioners against the embedded broker.</summary>
public sealed class ProvisionerTests
{
    private static TopicNames UniqueNames() => new(TestKafka.Unique("sh") + ".");

    [Fact]
    public async Task Mock_provisioner_creates_everything_once_and_is_idempotent()
    {
        using var broker = EmbeddedBroker.Start();
        var names = UniqueNames();
        var provisioner = new MockTopicProvisioner(broker);

        var created = await provisioner.EnsureAsync(names.All(4), CancellationToken.None);
        Assert.Equal(names.All(4).Select(s => s.Name), created);
        Assert.All(created, n => Assert.Equal(names.All(4).Single(s => s.Name == n).Partitions, TestKafka.PartitionCount(broker.BootstrapServers, n)));

        var again = await provisioner.EnsureAsync(names.All(4), CancellationToken.None);
        Assert.Empty(again);

        var extra = new TopicSpec(TestKafka.Unique("extra"), 2);
        var partly = await provisioner.EnsureAsync([.. names.All(4), extra], CancellationToken.None);
        Assert.Equal([extra.Name], partly);
    }

    [Fact]
    public async Task Mock_provisioner_reports_a_partition_mismatch()
    {
        using var broker = EmbeddedBroker.Start();
        var topic = TestKafka.Unique("mismatch");
        broker.CreateTopic(topic, 2);

        var e = await Assert.ThrowsAsync<InvalidOperationException>(
            () => new MockTopicProvisioner(broker).EnsureAsync([new TopicSpec(topic, 3)], CancellationToken.None));
        Assert.Contains($"topic '{topic}' has 2 partitions, expected 3", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Admin_provisioner_says_clearly_that_the_mock_cannot_create_a_missing_topic()
    {
        using var broker = EmbeddedBroker.Start();
        var present = TestKafka.Unique("present");
        var missing = TestKafka.Unique("missing");
        broker.CreateTopic(present, 1);

        var e = await Assert.ThrowsAsync<NotSupportedException>(() => new AdminTopicProvisioner(broker.BootstrapServers)
            .EnsureAsync([new TopicSpec(present, 1), new TopicSpec(missing, 3, Compacted: true)], CancellationToken.None));
        Assert.Contains("does not support CreateTopics", e.Message, StringComparison.Ordinal);
        Assert.Contains(missing, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(present, e.Message, StringComparison.Ordinal);
        Assert.Null(TestKafka.PartitionCount(broker.BootstrapServers, missing));
    }

    [Fact]
    public async Task Admin_provisioner_creates_nothing_when_all_topics_exist()
    {
        using var broker = EmbeddedBroker.Start();
        var names = UniqueNames();
        await new MockTopicProvisioner(broker).EnsureAsync(names.All(3), CancellationToken.None);

        var created = await new AdminTopicProvisioner(broker.BootstrapServers).EnsureAsync(names.All(3), CancellationToken.None);
        Assert.Empty(created);
    }

    [Fact]
    public async Task Admin_provisioner_reports_a_partition_mismatch_naming_topic_expected_and_actual()
    {
        using var broker = EmbeddedBroker.Start();
        var names = UniqueNames();
        await new MockTopicProvisioner(broker).EnsureAsync(names.All(3), CancellationToken.None);

        var e = await Assert.ThrowsAsync<InvalidOperationException>(
            () => new AdminTopicProvisioner(broker.BootstrapServers).EnsureAsync(names.All(5), CancellationToken.None));
        Assert.Contains($"topic '{names.Samples}' has 3 partitions, expected 5", e.Message, StringComparison.Ordinal);
        Assert.Contains(names.Dlq, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Provisioners_reject_conflicting_duplicate_specs()
    {
        using var broker = EmbeddedBroker.Start();
        var topic = TestKafka.Unique("twice");
        await Assert.ThrowsAsync<ArgumentException>(() => new MockTopicProvisioner(broker)
            .EnsureAsync([new TopicSpec(topic, 1), new TopicSpec(topic, 2)], CancellationToken.None));
        Assert.Null(TestKafka.PartitionCount(broker.BootstrapServers, topic));
    }
}
