using SafeHaven.Core.Samples;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Tests.Samples;

public sealed class SampleBatchesTests
{
    private static CounterSample Sample(long seq, int pid, params (string Counter, long Count)[] values) => new()
    {
        host = "h1",
        entity = new EntityRef { datacenter = "dc1", host = "h1", pid = pid, comm = "p", startTime = 99 },
        values = values.ToDictionary(v => v.Counter, v => v.Count),
        intervalNs = 1_000_000_000,
        timestampNs = 1_700_000_000_000_000_000 + (seq * 1_000),
        seq = seq,
    };

    [Fact]
    public void From_then_Expand_gives_the_samples_back_with_counters_listed_once()
    {
        CounterSample[] samples = [Sample(10, 1, ("a", 1), ("b", 2)), Sample(11, 2, ("b", 3)), Sample(12, 3, ("c", 0), ("a", long.MaxValue))];
        var batch = SampleBatches.From(samples, droppedSamples: 4);

        Assert.Equal(["a", "b", "c"], batch.counters);
        Assert.Equal([null, 3L, null], batch.samples[1].values);
        Assert.Equal((10L, samples[0].timestampNs, 0L), (batch.firstSeq, batch.timestampNs, batch.samples[0].endOffsetNs));
        var back = SampleBatches.Expand(batch);
        Assert.Equal(samples.Select(s => (s.seq, s.timestampNs, s.intervalNs, s.entity.pid, s.entity.startTime)),
            back.Select(s => (s.seq, s.timestampNs, s.intervalNs, s.entity.pid, s.entity.startTime)));
        Assert.Equal(samples.Select(s => s.values.OrderBy(kv => kv.Key)), back.Select(s => s.values.OrderBy(kv => kv.Key)));
        Assert.Equal([4L, 0L, 0L], back.Select(s => s.droppedSamples));
    }

    [Fact]
    public void From_refuses_an_empty_tick_mixed_hosts_and_gaps_in_seq()
    {
        Assert.Throws<ArgumentException>(() => SampleBatches.From([]));
        var other = Sample(2, 1);
        other.host = other.entity.host = "h2";
        Assert.Contains("one host", Assert.Throws<ArgumentException>(() => SampleBatches.From([Sample(1, 1), other])).Message, StringComparison.Ordinal);
        Assert.Contains("does not follow", Assert.Throws<ArgumentException>(() => SampleBatches.From([Sample(1, 1), Sample(3, 2)])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Expand_refuses_values_not_aligned_with_the_counters()
    {
        var batch = SampleBatches.From([Sample(1, 1, ("a", 1))]);
        batch.samples[0].values = [1, 2];
        Assert.Throws<InvalidDataException>(() => SampleBatches.Expand(batch));
    }
}
