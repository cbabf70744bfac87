using SafeHaven.Core.Samples;

namespace SafeHaven.Traces.Tests;

/// <summary>A trace's samples go back into the batches a probe publishes: per host, per source record, consecutive seq.</summary>
public sealed class SampleRebatcherTests
{
    private static List<SafeHaven.Schemas.SampleBatch> Batches(IEnumerable<TraceEntry> entries)
    {
        var rebatcher = new SampleRebatcher();
        var batches = new List<SafeHaven.Schemas.SampleBatch>();
        foreach (var e in entries)
        {
            if (!rebatcher.Continues(e) && rebatcher.Take() is { } b)
            {
                batches.Add(b);
            }
            rebatcher.Add(e);
        }
        if (rebatcher.Take() is { } last)
        {
            batches.Add(last);
        }
        return batches;
    }

    [Fact]
    public void One_batch_per_host_and_tick_and_every_sample_back_unchanged()
    {
        var entries = TraceSamples.Mixed(60).Where(e => e.Kind == TraceKind.Samples).ToList();
        // Mixed gives hosts h1 and h2 interleaved: re-number seq per host so each host's samples are consecutive.
        var seq = new Dictionary<string, long>();
        foreach (var e in entries)
        {
            e.Sample!.seq = seq[e.Sample.host] = seq.TryGetValue(e.Sample.host, out var s) ? s + 1 : 0;
        }
        var ordered = entries.OrderBy(e => e.TimestampNs).ThenBy(e => e.Sample!.host, StringComparer.Ordinal).ThenBy(e => e.Sample!.seq).ToList();

        var batches = Batches(ordered);

        var ticks = ordered.Select(e => (e.TimestampNs, e.Sample!.host)).Distinct().Count();
        Assert.Equal(ticks, batches.Count);
        Assert.Equal(ordered.Select(e => TraceFormatTests.Bytes(e with { TimestampNs = 0 })),
            batches.SelectMany(SampleBatches.Expand).Select(s => TraceFormatTests.Bytes(TraceEntry.OfSample(s, 0))));
    }

    [Fact]
    public void A_gap_in_seq_or_another_host_starts_a_new_batch()
    {
        var a = TraceEntry.OfSample(TraceSamples.Sample("h1", 1, 10, 5, 1), 100);
        var b = TraceEntry.OfSample(TraceSamples.Sample("h1", 2, 11, 5, 1), 100);
        var gap = TraceEntry.OfSample(TraceSamples.Sample("h1", 3, 13, 5, 1), 100);
        var other = TraceEntry.OfSample(TraceSamples.Sample("h2", 3, 14, 5, 1), 100);
        var later = TraceEntry.OfSample(TraceSamples.Sample("h2", 3, 15, 5, 1), 200);

        Assert.Equal([2, 1, 1, 1], Batches([a, b, gap, other, later]).Select(x => x.samples.Count));
    }
}
