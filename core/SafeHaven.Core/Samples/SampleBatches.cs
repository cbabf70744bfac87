using SafeHaven.Schemas;

namespace SafeHaven.Core.Samples;

/// <summary>
/// Converts between one host's <see cref="CounterSample"/>s of a tick and the <see cref="SampleBatch"/>
/// record that carries them on <c>safehaven.samples</c> (docs/SAMPLES.md). Lossless both ways:
/// <c>Expand(From(s))</c> gives back samples equal to <c>s</c> (the first one carries the batch's
/// <c>droppedSamples</c>, the others 0).
/// </summary>
public static class SampleBatches
{
    /// <summary>
    /// Packs <paramref name="samples"/> (one host, one datacenter, consecutive <c>seq</c>) into one batch.
    /// Counter names are listed once, in order of first appearance; the window ends are stored relative
    /// to the earliest one.
    /// </summary>
    /// <exception cref="ArgumentException">Empty, mixed hosts or datacenters, or gaps in <c>seq</c>.</exception>
    public static SampleBatch From(IReadOnlyList<CounterSample> samples, long droppedSamples = 0)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0)
        {
            throw new ArgumentException("a batch needs at least one sample", nameof(samples));
        }
        var first = samples[0];
        var counters = new List<string>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var reference = long.MaxValue;
        for (var i = 0; i < samples.Count; i++)
        {
            var s = samples[i];
            if (s.host != first.host || s.entity.host != first.host || s.entity.datacenter != first.entity.datacenter)
            {
                throw new ArgumentException($"sample {i}: a batch carries one host ({first.entity.datacenter}/{first.host}), got {s.entity.datacenter}/{s.host}", nameof(samples));
            }
            if (s.seq != first.seq + i)
            {
                throw new ArgumentException($"sample {i}: seq {s.seq} does not follow {first.seq + i - 1}", nameof(samples));
            }
            reference = Math.Min(reference, s.timestampNs);
            foreach (var name in s.values.Keys)
            {
                if (index.TryAdd(name, counters.Count))
                {
                    counters.Add(name);
                }
            }
        }
        var entries = new List<SampleEntry>(samples.Count);
        foreach (var s in samples)
        {
            var values = new long?[counters.Count];
            foreach (var (name, value) in s.values)
            {
                values[index[name]] = value;
            }
            entries.Add(new SampleEntry
            {
                pid = s.entity.pid, startTime = s.entity.startTime, comm = s.entity.comm, container = s.entity.container, vm = s.entity.vm,
                endOffsetNs = s.timestampNs - reference, intervalNs = s.intervalNs, values = values,
            });
        }
        return new SampleBatch
        {
            host = first.host, datacenter = first.entity.datacenter, timestampNs = reference, firstSeq = first.seq,
            droppedSamples = droppedSamples, counters = counters, samples = entries,
        };
    }

    /// <summary>The samples of <paramref name="batch"/>, in order, as standalone records.</summary>
    /// <exception cref="InvalidDataException">An entry's values are not aligned with the batch's counters.</exception>
    public static List<CounterSample> Expand(SampleBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var samples = new List<CounterSample>(batch.samples.Count);
        for (var i = 0; i < batch.samples.Count; i++)
        {
            samples.Add(Expand(batch, i));
        }
        return samples;
    }

    /// <summary>Entry <paramref name="i"/> of <paramref name="batch"/> as a standalone record.</summary>
    /// <exception cref="InvalidDataException">Its values are not aligned with the batch's counters.</exception>
    public static CounterSample Expand(SampleBatch batch, int i)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var e = batch.samples[i];
        if (e.values.Count != batch.counters.Count)
        {
            throw new InvalidDataException($"entry {i} has {e.values.Count} values for {batch.counters.Count} counters");
        }
        var values = new Dictionary<string, long>(batch.counters.Count, StringComparer.Ordinal);
        for (var c = 0; c < batch.counters.Count; c++)
        {
            if (e.values[c] is { } v)
            {
                values[batch.counters[c]] = v;
            }
        }
        return new CounterSample
        {
            host = batch.host,
            entity = new EntityRef { datacenter = batch.datacenter, host = batch.host, vm = e.vm, container = e.container, pid = e.pid, comm = e.comm, startTime = e.startTime },
            values = values,
            intervalNs = e.intervalNs,
            timestampNs = batch.timestampNs + e.endOffsetNs,
            seq = batch.firstSeq + i,
            droppedSamples = i == 0 ? batch.droppedSamples : 0,
        };
    }
}
