using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Embedded;
using SafeHaven.Kafka.Tests.Embedded;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.SerDes;
using Xunit.Abstractions;

namespace SafeHaven.Kafka.Tests.Clients;

/// <summary>Streamiz consumers report the records they lost through librdkafka's log line, caught in the logger factory.</summary>
public sealed class OffsetResetLogTests(ITestOutputHelper output)
{
    // Verbatim from librdkafka 2.x (Confluent.Kafka 2.16) on the embedded broker.
    private const string CachedReset = "[thrd:main]: lost-restart-7b86 [0]: offset reset (at offset 5 (leader epoch 0), broker 1) to cached BEGINNING offset "
        + "offset 288 (leader epoch -1): fetch failed due to requested offset not available on the broker: Broker: Offset out of range";

    [Fact]
    public void The_reset_line_names_the_partition_and_the_skipped_offsets()
    {
        Assert.True(OffsetResetLog.TryParse(CachedReset, out var topic, out var partition, out var first, out var last));
        Assert.Equal(("lost-restart-7b86", 0, 5L, (long?)287), (topic, partition, first, last));

        var uncached = "t.x [3]: offset reset (at offset 12 (leader epoch 0), broker 2) to offset BEGINNING (leader epoch -1): "
            + "fetch failed due to requested offset not available on the broker: Broker: Offset out of range";
        Assert.True(OffsetResetLog.TryParse(uncached, out topic, out partition, out first, out last));
        Assert.Equal(("t.x", 3, 12L, (long?)null), (topic, partition, first, last));

        // A reset of a group without a committed offset loses nothing, and librdkafka only debug-logs it.
        Assert.False(OffsetResetLog.TryParse("t [0]: offset reset (at offset INVALID, broker 1) to offset BEGINNING: no previously committed offset available: Local: No offset stored", out _, out _, out _, out _));
    }

    [Fact]
    public async Task A_streamiz_application_restarted_behind_the_log_start_logs_and_counts_the_offsets_it_lost()
    {
        using var broker = EmbeddedBroker.Start();
        var (topic, app) = (TestKafka.Unique("lost-streamiz"), TestKafka.Unique("app"));
        broker.CreateTopic(topic, partitions: 1);
        Overflow.Produce(broker, topic, 10);
        Overflow.CommitAt(broker, topic, app, 5);
        Overflow.Produce(broker, topic, 800);
        long logStart;
        using (var admin = new ConsumerBuilder<Null, Null>(TestKafka.Consumer(broker.BootstrapServers, app)).Build())
        {
            logStart = admin.QueryWatermarkOffsets(new TopicPartition(topic, 0), TestKafka.Deadline).Low.Value;
        }

        using var lost = new LostRecords(topic);
        // Never disposed: Streamiz keeps the factory beyond the stream.
        var logs = new ListLogger(LogLevel.Warning);
        var builder = new StreamBuilder();
        builder.Stream<string, byte[]>(topic).Foreach((_, _, _) => { });
        var config = new StreamConfig<StringSerDes, ByteArraySerDes>
        {
            ApplicationId = app,
            BootstrapServers = broker.BootstrapServers,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            PollMs = 1,
            FetchWaitMaxMs = 1,
            FetchQueueBackoffMs = 10,
            Logger = new OffsetResetLog(logs, "streamiz-test"),
        };
        using var stream = new KafkaStream(builder.Build(), config);
        await stream.StartAsync().WaitAsync(TestKafka.Deadline);
        await logs.FirstError.WaitAsync(TestKafka.Deadline);

        var error = Assert.Single(logs.Entries, e => e.Level == LogLevel.Error);
        output.WriteLine($"{error.Message}; counted {lost.Total}");
        Assert.Equal($"streamiz-test: lost {topic}[0] offsets 5..{logStart - 1} (log start moved past them)", error.Message);
        Assert.Equal(logStart - 5, lost.Total);
        Assert.Equal([("0", "streamiz-test")], lost.Tags);
    }
}
