using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Embedded;
using SafeHaven.Kafka.Tests.Embedded;
using Xunit.Abstractions;

namespace SafeHaven.Kafka.Tests.Clients;

/// <summary>
/// Records the embedded broker drops (5 MiB per partition) are reported by the consume loop of
/// the consumer that missed them, over TCP, with real offsets.
/// </summary>
public sealed class LogStartWatchTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_consumer_restarted_behind_the_log_start_logs_and_counts_the_offsets_it_lost()
    {
        using var broker = EmbeddedBroker.Start();
        var (topic, group) = (TestKafka.Unique("lost-restart"), TestKafka.Unique("g"));
        broker.CreateTopic(topic, partitions: 1);
        Overflow.Produce(broker, topic, 10);
        Overflow.CommitAt(broker, topic, group, 5);
        Overflow.Produce(broker, topic, 800);

        using var lost = new LostRecords(topic);
        var logs = new ListLogger();
        var seen = await RunLoop(broker, topic, group, logs, lastOffset: 809);

        // The first record the restarted consumer got is the log start: everything from the
        // committed offset up to it was dropped by the broker before the group read it.
        var first = seen[0];
        Assert.InRange(first, 100, 809);
        Assert.Equal(Enumerable.Range((int)first, 810 - (int)first).Select(i => (long)i), seen);
        var error = Assert.Single(logs.Entries, e => e.Level == LogLevel.Error);
        output.WriteLine($"{error.Message}; counted {lost.Total}");
        Assert.Equal($"loss-test: lost {topic}[0] offsets 5..{first - 1} (log start moved past them)", error.Message);
        Assert.Equal(first - 5, lost.Total);
        Assert.Equal([("0", "loss-test")], lost.Tags);
    }

    [Fact]
    public async Task A_consumer_overtaken_while_it_runs_reports_the_gap()
    {
        using var broker = EmbeddedBroker.Start();
        var (topic, group) = (TestKafka.Unique("lost-running"), TestKafka.Unique("g"));
        broker.CreateTopic(topic, partitions: 1);
        Overflow.Produce(broker, topic, 20);

        using var lost = new LostRecords(topic);
        var logs = new ListLogger();
        using var release = new ManualResetEventSlim();
        var holding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // The handler holds the first record while 8 MB arrive; a tiny fetch queue keeps the
        // client from prefetching them, so its position falls behind the moving log start.
        var run = RunLoop(broker, topic, group, logs, lastOffset: 819, onRecord: offset =>
        {
            if (offset == 0)
            {
                holding.TrySetResult();
                release.Wait(TestKafka.Deadline);
            }
        }, queueKbytes: 20);
        await holding.Task.WaitAsync(TestKafka.Deadline);
        Overflow.Produce(broker, topic, 800);
        release.Set();
        var seen = await run;

        var gap = seen.Zip(seen.Skip(1)).Single(p => p.Second != p.First + 1);
        var error = Assert.Single(logs.Entries, e => e.Level == LogLevel.Error);
        output.WriteLine($"{error.Message}; counted {lost.Total}");
        Assert.Equal($"loss-test: lost {topic}[0] offsets {gap.First + 1}..{gap.Second - 1} (log start moved past them)", error.Message);
        Assert.Equal(gap.Second - gap.First - 1, lost.Total);
    }

    [Fact]
    public async Task Consumers_that_lost_nothing_report_nothing()
    {
        using var broker = EmbeddedBroker.Start();
        var (kept, dropped) = (TestKafka.Unique("kept"), TestKafka.Unique("dropped"));
        broker.CreateTopic(kept, partitions: 1);
        broker.CreateTopic(dropped, partitions: 1);
        Overflow.Produce(broker, kept, 10);
        var group = TestKafka.Unique("g");
        Overflow.CommitAt(broker, kept, group, 5);
        Overflow.Produce(broker, dropped, 800);

        using var lostKept = new LostRecords(kept);
        using var lostDropped = new LostRecords(dropped);
        var logs = new ListLogger();
        // A restart within the log, and a new group on a log whose head is gone (nothing of it was ever its to lose).
        Assert.Equal([5, 6, 7, 8, 9], await RunLoop(broker, kept, group, logs, lastOffset: 9));
        var fresh = await RunLoop(broker, dropped, TestKafka.Unique("g"), logs, lastOffset: 799);

        Assert.True(fresh[0] > 0, "the broker dropped the head of the log");
        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Warning);
        Assert.Equal(0, lostKept.Total + lostDropped.Total);
    }

    /// <summary>Runs <see cref="ConsumeLoop.Run"/> as a role does until it handled <paramref name="lastOffset"/>; returns the offsets handled.</summary>
    private static async Task<List<long>> RunLoop(EmbeddedBroker broker, string topic, string group, ILogger logger, long lastOffset,
        Action<long>? onRecord = null, int? queueKbytes = null)
    {
        using var kafka = new KafkaClients(new KafkaOptions { BootstrapServers = broker.BootstrapServers });
        var config = kafka.Consumer(group, "loss-test");
        config.QueuedMaxMessagesKbytes = queueKbytes;
        using var consumer = new ConsumerBuilder<string, byte[]>(config).Build();
        using var producer = new ProducerBuilder<string, byte[]>(kafka.Producer("loss-test")).Build();
        using var stop = new CancellationTokenSource(TestKafka.Deadline);
        var seen = new List<long>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        consumer.Subscribe(topic);
        var loop = ConsumeLoop.OnOwnThread(() => ConsumeLoop.Run(consumer, producer, kafka, "loss-test", TimeProvider.System, logger, cr =>
        {
            seen.Add(cr.Offset.Value);
            onRecord?.Invoke(cr.Offset.Value);
            if (cr.Offset.Value == lastOffset)
            {
                done.TrySetResult();
            }
        }, stop.Token), stop.Token);
        try
        {
            await done.Task.WaitAsync(TestKafka.Deadline);
        }
        finally
        {
            await stop.CancelAsync();
            await loop;
        }
        return seen;
    }
}
