using System.Diagnostics;
using Confluent.Kafka;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Embedded;
using SafeHaven.Kafka.Tests.Embedded;

namespace SafeHaven.Kafka.Tests.Clients;

public sealed class AcknowledgementsTests
{
    private static readonly DeliveryReport<string, byte[]> Delivered = new() { Error = new Error(ErrorCode.NoError) };

    [Fact]
    public void With_nothing_outstanding_the_wait_returns_at_once()
    {
        Assert.True(new Acknowledgements().Wait(TimeSpan.Zero, CancellationToken.None));
    }

    [Fact]
    public void The_wait_ends_when_the_last_report_arrives_and_sees_what_the_record_handler_recorded()
    {
        var acks = new Acknowledgements();
        var seen = 0;
        var first = acks.Track(_ => seen++);
        var second = acks.Track(_ => seen++);
        first(Delivered);
        Assert.False(acks.Wait(TimeSpan.FromMilliseconds(50), CancellationToken.None));
        Assert.Equal(1, acks.Outstanding);

        var started = Stopwatch.StartNew();
        // The report arrives on another thread 100 ms into the wait, as Confluent's poll thread delivers it.
        using (var late = new Timer(_ => second(Delivered), null, 100, Timeout.Infinite))
        {
            Assert.True(acks.Wait(TimeSpan.FromSeconds(10), CancellationToken.None));
        }
        // Woken by the report, not by the end of a polling slice or the timeout.
        Assert.InRange(started.ElapsedMilliseconds, 90, 5_000);
        Assert.Equal((2, 0), (seen, acks.Outstanding));
    }

    [Fact]
    public void A_record_handler_that_throws_still_stops_counting()
    {
        var acks = new Acknowledgements();
        var report = acks.Track(_ => throw new InvalidOperationException("handler"));
        Assert.Throws<InvalidOperationException>(() => report(Delivered));
        Assert.Equal(0, acks.Outstanding);
    }

    [Fact]
    public void Cancellation_ends_an_infinite_wait()
    {
        var acks = new Acknowledgements();
        acks.Track();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        Assert.ThrowsAny<OperationCanceledException>(() => acks.Wait(Timeout.InfiniteTimeSpan, cts.Token));
    }

    [Fact]
    public async Task Records_produced_through_it_are_acknowledged_when_the_wait_returns()
    {
        using var broker = EmbeddedBroker.Start();
        var topic = TestKafka.Unique("acks");
        broker.CreateTopic(topic, 1);
        var config = TestKafka.Producer(broker.BootstrapServers);
        config.LingerMs = 0;
        using var producer = new ProducerBuilder<string, byte[]>(config).Build();
        await producer.ProduceAsync(topic, new Message<string, byte[]> { Key = "warm", Value = [0] });
        var acks = new Acknowledgements();
        var (acknowledged, failed) = (0, 0);
        for (var i = 0; i < 20; i++)
        {
            acks.Produce(producer, new TopicPartition(topic, 0), new Message<string, byte[]> { Key = "k", Value = [(byte)i] },
                r => _ = r.Error.IsError ? failed++ : acknowledged++);
            Assert.True(acks.Wait(TestKafka.Deadline, CancellationToken.None));
            // Each record is on the broker (acks=all, a single replica here) before the next is produced.
            Assert.Equal(i + 1, acknowledged);
        }
        Assert.Equal((0, 0), (failed, acks.Outstanding));
        using var consumer = new ConsumerBuilder<string, byte[]>(TestKafka.Consumer(broker.BootstrapServers, TestKafka.Unique("g"))).Build();
        Assert.Equal(21, consumer.QueryWatermarkOffsets(new TopicPartition(topic, 0), TestKafka.Deadline).High.Value);
    }
}
