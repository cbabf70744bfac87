using Confluent.Kafka;
using SafeHaven.StreamProcessors.Streams;

namespace SafeHaven.StreamProcessors.Tests.Streams;

/// <summary>The per-topic metadata Streamiz's sink asks for, answered from memory once read.</summary>
public sealed class TopicMetadataCacheTests
{
    internal static Metadata Of(string topic, int partitions, ErrorCode error = ErrorCode.NoError) => new(
        [new BrokerMetadata(1, "127.0.0.1", 9092)],
        [new TopicMetadata(topic, [.. Enumerable.Range(0, partitions).Select(p => new PartitionMetadata(p, 1, [1], [1], new Error(ErrorCode.NoError)))], new Error(error))],
        1, "b1");

    private static int PartitionsOf(Metadata m, string topic) => m.Topics.Single(t => t.Topic == topic).Partitions.Count;

    [Fact]
    public void After_one_read_the_named_topics_are_answered_from_memory_and_others_go_to_the_broker()
    {
        var fetched = 0;
        var direct = 0;
        using var cache = new TopicMetadataCache(["det", "dlq"], t => { fetched++; return Of(t, t == "det" ? 3 : 2); });

        Assert.Equal(2, cache.Refresh());
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(3, PartitionsOf(cache.Get("det", () => { direct++; return Of("det", 99); }), "det"));
            Assert.Equal(2, PartitionsOf(cache.Get("dlq", () => { direct++; return Of("dlq", 99); }), "dlq"));
        }
        Assert.Equal((2, 0), (fetched, direct));
        Assert.Equal(7, PartitionsOf(cache.Get("other", () => { direct++; return Of("other", 7); }), "other"));
        Assert.Equal(1, direct);
    }

    [Fact]
    public void Before_any_good_read_it_asks_the_broker_as_Streamiz_did()
    {
        var direct = 0;
        using var cache = new TopicMetadataCache(["det"], _ => throw new KafkaException(ErrorCode.Local_TimedOut));

        Assert.Equal(0, cache.Refresh());
        Assert.Equal(3, PartitionsOf(cache.Get("det", () => { direct++; return Of("det", 3); }), "det"));
        Assert.Equal(1, direct);
    }

    [Fact]
    public void A_failed_or_empty_refresh_keeps_the_last_good_answer_and_a_good_one_replaces_it()
    {
        var answer = Of("det", 3);
        Func<Metadata> next = () => answer;
        using var cache = new TopicMetadataCache(["det"], _ => next());
        cache.Refresh();

        next = () => throw new KafkaException(ErrorCode.Local_Transport);
        cache.Refresh();
        next = () => Of("det", 0);
        cache.Refresh();
        next = () => Of("det", 5, ErrorCode.UnknownTopicOrPart);
        cache.Refresh();
        Assert.Equal(3, PartitionsOf(cache.Get("det", () => throw new InvalidOperationException("must not ask the broker")), "det"));

        next = () => Of("det", 6);
        cache.Refresh();
        Assert.Equal(6, PartitionsOf(cache.Get("det", () => throw new InvalidOperationException("must not ask the broker")), "det"));
    }

    [Fact]
    public async Task The_timer_refreshes_off_the_callers_thread()
    {
        var partitions = 3;
        using var cache = new TopicMetadataCache(["det"], t => Of(t, Volatile.Read(ref partitions)));
        cache.Refresh();
        Volatile.Write(ref partitions, 4);

        cache.RefreshEvery(TimeSpan.FromMilliseconds(20));

        Assert.True(await Poll.Until(() => PartitionsOf(cache.Get("det", () => Of("det", 0)), "det") == 4, TimeSpan.FromSeconds(10)));
    }
}
