using Confluent.Kafka;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;

namespace SafeHaven.Probes.Tests.Hosting;

/// <summary>The samples contract of docs/SAMPLES.md: one <c>SampleBatch</c> record per tick, keyed by host.</summary>
public sealed class KafkaSampleSinkBatchTests
{
    [Fact]
    public void Each_tick_is_one_SampleBatch_record_keyed_by_host_with_every_sample_in_order()
    {
        const int ticks = 3, perTick = 100;
        using var h = new SinkHarness();
        using (var sink = h.Sink(buffer: 1000, maxInFlight: 1000))
        {
            for (var t = 0; t < ticks; t++)
            {
                sink.PublishTick([.. Enumerable.Range(t * perTick, perTick).Select(i => SinkHarness.Sample(i))]);
            }
            Assert.True(sink.Flush(SinkHarness.Deadline), "not delivered in time");
            Assert.Equal((ticks * perTick, 0L), (sink.Delivered, sink.Dropped));
        }

        using var consumer = new ConsumerBuilder<string, byte[]>(h.Kafka.Consumer("g-raw-" + h.ClientId, "raw-" + h.ClientId)).Build();
        consumer.Subscribe(h.Kafka.Topics.Samples);
        var raw = new List<Message<string, byte[]>>();
        var deadline = DateTime.UtcNow + SinkHarness.Deadline;
        while (raw.Count < ticks && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { Message: { } m })
            {
                raw.Add(m);
            }
        }
        consumer.Close();

        Assert.Equal(ticks, raw.Count);
        Assert.All(raw, m => Assert.Equal("h1", m.Key));
        Assert.All(raw, m => Assert.True(SampleBatchDecoder.IsSampleBatch(m.Value), "not a single-object SampleBatch"));
        var reader = new SamplesTopicReader(h.Kafka.Serdes);
        var samples = raw.Select(m => reader.Read(m.Value, h.Kafka.Topics.Samples)).ToList();
        Assert.All(samples, s => Assert.Equal(perTick, s.Count));
        var all = samples.SelectMany(s => s).ToList();
        Assert.Equal(Enumerable.Range(0, ticks * perTick).Select(i => (long)i), all.Select(s => s.seq));
        // Lossless: every sample reads back exactly as published.
        for (var i = 0; i < all.Count; i++)
        {
            var expected = SinkHarness.Sample(i);
            Assert.Equal((expected.timestampNs, expected.intervalNs, expected.entity.pid, expected.entity.comm, expected.values["context-switches"]),
                (all[i].timestampNs, all[i].intervalNs, all[i].entity.pid, all[i].entity.comm, all[i].values["context-switches"]));
        }
    }

    [Fact]
    public void A_tick_larger_than_the_in_flight_window_is_split_into_records_that_still_carry_every_sample()
    {
        using var h = new SinkHarness();
        using (var sink = h.Sink(buffer: 1000, maxInFlight: 40))
        {
            sink.PublishTick([.. Enumerable.Range(0, 100).Select(i => SinkHarness.Sample(i))]);
            Assert.True(sink.Flush(SinkHarness.Deadline), "not delivered in time");
            Assert.Equal((100L, 0L), (sink.Delivered, sink.Dropped));
        }
        var records = h.ReadRecords(100);
        Assert.InRange(records.Count, 3, 100);
        Assert.All(records, r => Assert.InRange(r.Count, 1, 40));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), records.SelectMany(r => r).Select(s => s.seq));
    }
}
