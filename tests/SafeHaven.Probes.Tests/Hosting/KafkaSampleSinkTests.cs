using System.Diagnostics;
using SafeHaven.Probes.Hosting.Delivery;
using SafeHaven.Schemas;
using Xunit.Abstractions;

namespace SafeHaven.Probes.Tests.Hosting;

/// <summary>The sink against the embedded broker, read back with a real Confluent consumer.</summary>
public sealed partial class KafkaSampleSinkTests(ITestOutputHelper output)
{
    [Fact]
    public void With_the_broker_up_every_sample_arrives_in_order_without_drops()
    {
        using var h = new SinkHarness();
        using var metric = new DroppedMetric(h.ClientId);
        const int count = 500;
        using (var sink = h.Sink(buffer: 1000, maxInFlight: 100))
        {
            for (int i = 0; i < count; i++)
            {
                sink.Publish(SinkHarness.Sample(i));
            }
            Assert.True(sink.Flush(SinkHarness.Deadline), "not delivered in time");
            Assert.Equal((count, 0L), (sink.Delivered, sink.Dropped));
        }

        var records = h.Read(count);
        Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), records.Select(r => r.seq));
        Assert.All(records, r => Assert.Equal(0, r.droppedSamples));
        Assert.Equal(0, metric.Total);
    }

    [Trait("Category", "Timing")]
    [Fact]
    public void Broker_down_drops_the_oldest_without_blocking_and_the_first_sample_after_the_gap_says_how_many()
    {
        const int buffer = 200, inFlight = 50, burst = 1000;
        using var h = new SinkHarness();
        using var metric = new DroppedMetric(h.ClientId);
        using var sink = h.Sink(buffer, inFlight);
        // Given a connected producer,
        sink.Publish(SinkHarness.Sample(0));
        Assert.True(sink.Flush(SinkHarness.Deadline), "first sample not delivered");

        // when the broker goes away, the first samples fill librdkafka's window and stay there,
        h.Broker.SetBrokerDown(1);
        for (int i = 1; i <= inFlight; i++)
        {
            sink.Publish(SinkHarness.Sample(i));
        }
        SinkHarness.WaitUntil(() => sink.InFlight == inFlight, "the in-flight window is full");

        // and every later Publish returns while nothing can be delivered: the ring overflows.
        var clock = Stopwatch.StartNew();
        for (int i = inFlight + 1; i <= inFlight + burst; i++)
        {
            sink.Publish(SinkHarness.Sample(i));
        }
        clock.Stop();
        // All calls finished with the broker still down and every drop already counted: no call waited for it.
        Assert.Equal((inFlight, buffer, (long)(burst - buffer), 1L), (sink.InFlight, sink.Buffered, sink.Dropped, sink.Delivered));
        Assert.Equal(burst - buffer, metric[ProbeMetrics.BufferFull]);
        output.WriteLine($"{burst} Publish calls with the broker down: {clock.Elapsed.TotalMilliseconds:F1} ms");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"{burst} Publish calls took {clock.Elapsed}");

        // Then, once it is back, the kept samples arrive and the first after the gap carries the count.
        h.Broker.SetBrokerUp(1);
        Assert.True(sink.Flush(SinkHarness.Deadline), "not delivered after the broker came back");
        int kept = 1 + inFlight + buffer;
        var records = Dedupe(h.Read(kept));
        long firstAfterGap = inFlight + 1 + burst - buffer;
        var expected = Enumerable.Range(0, inFlight + 1).Select(i => (long)i)
            .Concat(Enumerable.Range((int)firstAfterGap, buffer).Select(i => (long)i));
        Assert.Equal(expected, records.Select(r => r.seq));
        Assert.Equal(burst - buffer, records.Single(r => r.seq == firstAfterGap).droppedSamples);
        Assert.All(records.Where(r => r.seq != firstAfterGap), r => Assert.Equal(0, r.droppedSamples));
        Assert.Equal(burst - buffer, metric.Total);
        Assert.Equal((long)kept, sink.Delivered);
    }

    [Fact]
    public void A_sample_whose_delivery_times_out_is_dropped_and_reported_by_the_next_one()
    {
        const int lost = 20;
        using var h = new SinkHarness();
        using var metric = new DroppedMetric(h.ClientId);
        using var sink = h.Sink(buffer: 100, maxInFlight: 50, messageTimeoutMs: 1000);
        sink.Publish(SinkHarness.Sample(0));
        Assert.True(sink.Flush(SinkHarness.Deadline), "first sample not delivered");

        h.Broker.SetBrokerDown(1);
        for (int i = 1; i <= lost; i++)
        {
            sink.Publish(SinkHarness.Sample(i));
        }
        SinkHarness.WaitUntil(() => sink.Dropped == lost && sink.InFlight == 0, "librdkafka timed the samples out");
        h.Broker.SetBrokerUp(1);
        // The producer finds the leader again on its own schedule (about 1 s scans here), so a
        // sample published right away can time out too: publish one at a time until one lands.
        long seq = lost;
        while (sink.Delivered < 2)
        {
            sink.Publish(SinkHarness.Sample(++seq));
            SinkHarness.WaitUntil(() => sink.Delivered + sink.Dropped == seq + 1, $"sample {seq} settled");
        }
        output.WriteLine($"samples published after the broker came back: {seq - lost}");

        var records = Dedupe(h.Read(2));
        // Every sample between the two was lost, and the one that made it says exactly that.
        Assert.Equal([(0L, 0L), (seq, seq - 1)], records.Select(r => (r.seq, r.droppedSamples)));
        Assert.Equal(seq - 1, metric[ProbeMetrics.DeliveryFailed]);
        Assert.Equal(seq - 1, metric.Total);
        Assert.Equal(seq - 1, sink.Dropped);
    }

    [Fact]
    public void Dispose_delivers_what_is_queued()
    {
        using var h = new SinkHarness();
        const int count = 300;
        using (var sink = h.Sink(buffer: 1000, maxInFlight: 100))
        {
            for (int i = 0; i < count; i++)
            {
                sink.Publish(SinkHarness.Sample(i));
            }
        }

        Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), Dedupe(h.Read(count)).Select(r => r.seq));
    }

    [Trait("Category", "Timing")]
    [Fact]
    public void Close_with_the_broker_down_returns_by_its_bound_and_counts_everything_as_dropped()
    {
        const int buffer = 100, inFlight = 20, published = 300;
        var bound = TimeSpan.FromMilliseconds(500);
        using var h = new SinkHarness();
        using var metric = new DroppedMetric(h.ClientId);
        var sink = h.Sink(buffer, inFlight);
        h.Broker.SetBrokerDown(1);
        // Fill librdkafka's window first, so that exactly the rest goes through the ring.
        for (int i = 0; i < inFlight; i++)
        {
            sink.Publish(SinkHarness.Sample(i));
        }
        SinkHarness.WaitUntil(() => sink.InFlight == inFlight, "the in-flight window is full");
        for (int i = inFlight; i < published; i++)
        {
            sink.Publish(SinkHarness.Sample(i));
        }

        var clock = Stopwatch.StartNew();
        bool complete = sink.Close(bound);
        clock.Stop();

        output.WriteLine($"Close({bound.TotalMilliseconds} ms) with the broker down took {clock.Elapsed.TotalMilliseconds:F0} ms");
        Assert.False(complete);
        // The bound, plus the producer's teardown.
        Assert.True(clock.Elapsed < bound + TimeSpan.FromSeconds(3), $"Close took {clock.Elapsed}");
        Assert.Equal((0L, (long)published), (sink.Delivered, sink.Dropped));
        Assert.Equal(published - buffer - inFlight, metric[ProbeMetrics.BufferFull]);
        Assert.Equal(buffer + inFlight, metric[ProbeMetrics.Shutdown]);
        Assert.Equal(published, metric.Total);
        Assert.Throws<ObjectDisposedException>(() => sink.Publish(SinkHarness.Sample(published)));
        Assert.False(sink.Close(bound));
    }

    /// <summary>
    /// docs/MACHINE.md: the mock drops duplicate retries only for transactional producers, so an
    /// idempotent producer can duplicate across a broker outage there. Keep the first of each seq.
    /// </summary>
    private List<CounterSample> Dedupe(List<CounterSample> records)
    {
        var seen = new HashSet<long>();
        var unique = records.Where(r => seen.Add(r.seq)).ToList();
        if (unique.Count != records.Count)
        {
            output.WriteLine($"mock duplicates: {records.Count - unique.Count} of {records.Count} records");
        }
        return unique;
    }
}
