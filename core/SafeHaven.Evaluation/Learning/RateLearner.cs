using SafeHaven.Core;
using SafeHaven.Core.Bounds;
using SafeHaven.Core.Detector;
using SafeHaven.Schemas;

namespace SafeHaven.Evaluation.Learning;

/// <summary>Where a counter's highest rate was seen.</summary>
/// <param name="Rate">The rate, events/s.</param>
/// <param name="Host">Host id.</param>
/// <param name="EntityId">The entity's id.</param>
/// <param name="Comm">Its command name, when a process.</param>
/// <param name="WindowEndNs">End of the window, Unix ns.</param>
public sealed record RatePeak(double Rate, string Host, string EntityId, string? Comm, long WindowEndNs);

/// <summary>The distribution of one counter's per-sample rates over a trace.</summary>
/// <param name="Counter">Counter name.</param>
/// <param name="Samples">Samples that carried the counter.</param>
/// <param name="Entities">Distinct entities among them.</param>
/// <param name="Median">Median rate, events/s.</param>
/// <param name="P99">99th percentile (nearest rank).</param>
/// <param name="P999">99.9th percentile (nearest rank).</param>
/// <param name="Peak">The highest rate and where it was seen.</param>
public sealed record CounterRates(string Counter, long Samples, int Entities, double Median, double P99, double P999, RatePeak Peak)
{
    /// <summary>The highest rate, events/s.</summary>
    public double Max => Peak.Rate;
}

/// <summary>
/// Collects per-counter rates from a benign trace, exactly as the detector computes them
/// (<see cref="DetectorEngine.Rate"/> of each valid sample's window), to propose thresholds from.
/// </summary>
public sealed class RateLearner
{
    private readonly Dictionary<string, List<double>> _rates = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _entities = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RatePeak> _peaks = new(StringComparer.Ordinal);
    private readonly HashSet<string> _allEntities = new(StringComparer.Ordinal);
    private long _firstWindowStartNs = long.MaxValue;
    private long _lastWindowEndNs = long.MinValue;

    /// <summary>Valid samples read.</summary>
    public long Samples { get; private set; }

    /// <summary>Samples the detector would have rejected: they are not learnt from.</summary>
    public long Rejected { get; private set; }

    /// <summary>Distinct entities among the valid samples.</summary>
    public int Entities => _allEntities.Count;

    /// <summary>Seconds between the earliest window start and the latest window end (0 before any sample).</summary>
    public double SpanSeconds => Samples == 0 ? 0 : (_lastWindowEndNs - _firstWindowStartNs) / 1e9;

    /// <summary>Adds one sample's rates (invalid samples are counted and skipped, as the detector would).</summary>
    public void Add(CounterSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        if (RecordBounds.Replay.Problem(sample, 0) is not null || SampleValidator.Problem(sample) is not null)
        {
            Rejected++;
            return;
        }
        var entity = EntityIds.Of(sample.entity);
        Samples++;
        _allEntities.Add(entity);
        _firstWindowStartNs = Math.Min(_firstWindowStartNs, sample.timestampNs - sample.intervalNs);
        _lastWindowEndNs = Math.Max(_lastWindowEndNs, sample.timestampNs);
        foreach (var (counter, count) in sample.values)
        {
            var rate = DetectorEngine.Rate(count, sample.intervalNs);
            if (!_rates.TryGetValue(counter, out var list))
            {
                (_rates[counter], _entities[counter]) = (list = [], new HashSet<string>(StringComparer.Ordinal));
            }
            list.Add(rate);
            _entities[counter].Add(entity);
            if (!_peaks.TryGetValue(counter, out var peak) || rate > peak.Rate)
            {
                _peaks[counter] = new RatePeak(rate, sample.host, entity, sample.entity.comm, sample.timestampNs);
            }
        }
    }

    /// <summary>Each counter's rate distribution, by counter name.</summary>
    public IReadOnlyList<CounterRates> Counters() => [.. _rates.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p =>
    {
        var sorted = p.Value.ToArray();
        Array.Sort(sorted);
        return new CounterRates(p.Key, sorted.Length, _entities[p.Key].Count, NearestRank(sorted, 0.5), NearestRank(sorted, 0.99),
            NearestRank(sorted, 0.999), _peaks[p.Key]);
    })];

    /// <summary>The <paramref name="q"/> quantile of sorted values by nearest rank (the smallest value with at least q of them at or below it).</summary>
    internal static double NearestRank(double[] sorted, double q)
    {
        var rank = (int)Math.Ceiling(q * sorted.Length);
        return sorted[Math.Clamp(rank, 1, sorted.Length) - 1];
    }
}
