using Confluent.Kafka;
using SafeHaven.Kafka.Embedded;

namespace SafeHaven.Kafka.Tests.Embedded;

/// <summary>Argument checking, error mapping and lifetime of <see cref="EmbeddedBroker"/>.</summary>
public sealed class EmbeddedBrokerApiTests
{
    [Theory]
    [InlineData("", "empty")]
    [InlineData("has space", "' '")]
    [InlineData("a/b", "'/'")]
    [InlineData("caf\u00e9", "U+00E9")]
    [InlineData(".", "reserved")]
    [InlineData("..", "reserved")]
    public void CreateTopic_rejects_illegal_names_saying_why(string name, string problem)
    {
        using var broker = EmbeddedBroker.Start();
        var e = Assert.Throws<ArgumentException>(() => broker.CreateTopic(name, 1));
        Assert.Equal("name", e.ParamName);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CreateTopic_accepts_249_characters_and_rejects_250()
    {
        using var broker = EmbeddedBroker.Start();
        broker.CreateTopic(new string('a', 249), 1);
        var e = Assert.Throws<ArgumentException>(() => broker.CreateTopic(new string('b', 250), 1));
        Assert.Contains("249", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, TestKafka.PartitionCount(broker.BootstrapServers, new string('a', 249)));
    }

    [Fact]
    public void CreateTopic_twice_surfaces_librdkafkas_error()
    {
        using var broker = EmbeddedBroker.Start();
        var topic = TestKafka.Unique("dup");
        broker.CreateTopic(topic, 2);
        var e = Assert.Throws<KafkaException>(() => broker.CreateTopic(topic, 2));
        Assert.Equal(ErrorCode.TopicAlreadyExists, e.Error.Code);
        Assert.Contains("Topic already exists", e.Message, StringComparison.Ordinal);
        Assert.Contains(topic, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Out_of_range_arguments_are_refused_before_reaching_librdkafka()
    {
        using var broker = EmbeddedBroker.Start(brokers: 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => broker.CreateTopic("t", 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => broker.CreateTopic("t", 1, replicationFactor: 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => broker.SetBrokerDown(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => broker.SetBrokerUp(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => EmbeddedBroker.Start(0));
    }

    [Fact]
    public void Bootstrap_lists_one_local_endpoint_per_broker()
    {
        using var broker = EmbeddedBroker.Start(brokers: 3);
        var endpoints = broker.BootstrapServers.Split(',');
        Assert.Equal(3, endpoints.Length);
        Assert.All(endpoints, ep => Assert.True(int.Parse(ep.Split(':')[^1], System.Globalization.CultureInfo.InvariantCulture) > 0, ep));
        Assert.Equal(3, endpoints.Distinct().Count());
    }

    [Fact]
    public void Dispose_is_idempotent_and_later_calls_throw()
    {
        var broker = EmbeddedBroker.Start();
        broker.Dispose();
        broker.Dispose();
        Assert.Throws<ObjectDisposedException>(() => broker.CreateTopic("after", 1));
        Assert.Throws<ObjectDisposedException>(() => broker.SetBrokerDown(1));
        Assert.Throws<ObjectDisposedException>(() => broker.PushRequestErrors(0, ErrorCode.NotLeaderForPartition));
    }
}
