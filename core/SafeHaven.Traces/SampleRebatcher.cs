using SafeHaven.Core.Samples;
using SafeHaven.Schemas;

namespace SafeHaven.Traces;

/// <summary>
/// Packs a trace's consecutive samples back into the <see cref="SampleBatch"/> records a probe publishes (docs/SAMPLES.md):
/// consecutive sample entries of one host, with the same Kafka timestamp (one source record) and consecutive
/// <c>seq</c>, form one batch of at most <see cref="MaxSamples"/>. Detection ids depend on the samples alone, not on how
/// they were batched.
/// </summary>
public sealed class SampleRebatcher
{
    /// <summary>Most samples per batch, as the probe's sink splits them.</summary>
    public const int MaxSamples = 5000;

    private readonly List<CounterSample> _pending = [];
    private long _timestampNs;

    /// <summary>Pace time of the pending batch (its first entry's <see cref="TraceEntry.PaceNs"/>).</summary>
    public long PaceNs { get; private set; }

    /// <summary>True when no sample is pending.</summary>
    public bool IsEmpty => _pending.Count == 0;

    /// <summary>True when <paramref name="entry"/> (a sample) belongs to the pending batch.</summary>
    public bool Continues(TraceEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (_pending.Count == 0 || _pending.Count >= MaxSamples || entry.Sample is not { } s || entry.TimestampNs != _timestampNs)
        {
            return false;
        }
        var last = _pending[^1];
        return s.host == last.host && s.entity.host == last.host && s.entity.datacenter == last.entity.datacenter
            && s.seq == last.seq + 1 && s.droppedSamples == 0;
    }

    /// <summary>Adds a sample entry; call <see cref="Continues"/> first, and <see cref="Take"/> when it says no.</summary>
    public void Add(TraceEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var sample = entry.Sample ?? throw new ArgumentException("not a sample entry", nameof(entry));
        if (_pending.Count == 0)
        {
            _timestampNs = entry.TimestampNs;
            PaceNs = entry.PaceNs;
        }
        _pending.Add(sample);
    }

    /// <summary>The pending samples as one batch (null when none), and starts a new one.</summary>
    public SampleBatch? Take()
    {
        if (_pending.Count == 0)
        {
            return null;
        }
        var batch = SampleBatches.From(_pending, _pending[0].droppedSamples);
        _pending.Clear();
        return batch;
    }
}
