using SafeHaven.Core.Detector;
using SafeHaven.Core.Rules;

namespace SafeHaven.Core.Samples;

/// <summary>
/// Whether a probe may end a process's sampling window before its scheduled end and publish it at
/// once (docs/SAMPLES.md, "Early publication"). Pure: the caller passes counts and durations read
/// with its own clock, so the decision can be replayed and property-tested.
/// </summary>
/// <remarks>
/// A window is planned to last <c>plannedNs</c> (from its start to the scheduled tick that would
/// publish it). After <c>elapsedNs</c> of it, the counts already seen are lower bounds of the counts
/// at the planned end. The window may be published early when
/// <list type="bullet">
/// <item>some counter's count is already above the lowest ε of its rules times the planned window
/// (as the detector computes it: <see cref="DetectorEngine.Rate"/>), so that even with no further
/// event the planned window's rate would exceed ε: the early sample fires nothing the planned
/// window would not; and</item>
/// <item>no rule on any counter of the sample would fire on the short window (rate over
/// <c>elapsedNs</c>) unless it is also guaranteed to fire on the planned one, so a burst cannot make
/// a rule with a higher ε, or a rule on another counter, fire where the planned window would not.</item>
/// </list>
/// Rules are compared strictly (rate &gt; ε), as the detector does.
/// </remarks>
public sealed class EarlyPublication
{
    // Counter → distinct thresholds, ascending: [0] is the one that triggers.
    private readonly Dictionary<string, double[]> _thresholds;

    /// <summary>Learns the thresholds of <paramref name="rules"/>, per counter.</summary>
    public EarlyPublication(IEnumerable<Rule> rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        _thresholds = rules.GroupBy(r => r.Counter, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(r => r.Threshold).Distinct().Order().ToArray(), StringComparer.Ordinal);
    }

    /// <summary>No rules: never publishes early.</summary>
    public static EarlyPublication None { get; } = new([]);

    /// <summary>True when some rule gives a counter a threshold (otherwise nothing is ever published early).</summary>
    public bool IsEnabled => _thresholds.Count > 0;

    /// <summary>The counters some rule watches.</summary>
    public IReadOnlyCollection<string> Counters => _thresholds.Keys;

    /// <summary>The lowest ε of the rules on <paramref name="counter"/>; false when no rule watches it.</summary>
    public bool TryGetLowestThreshold(string counter, out double threshold)
    {
        threshold = 0;
        if (!_thresholds.TryGetValue(counter, out var all))
        {
            return false;
        }
        threshold = all[0];
        return true;
    }

    /// <summary>
    /// True when <paramref name="count"/> events of <paramref name="counter"/> already make the planned
    /// window's rate exceed the counter's lowest ε, whatever comes next: the fine tick's trigger.
    /// </summary>
    public bool Guarantees(string counter, long count, long plannedNs) =>
        plannedNs > 0 && _thresholds.TryGetValue(counter, out var all) && DetectorEngine.Rate(count, plannedNs) > all[0];

    /// <summary>
    /// The smallest count of <paramref name="counter"/> for which <see cref="Guarantees"/> holds over a window
    /// planned to last <paramref name="plannedNs"/>, so that a fine tick compares integers only;
    /// <see cref="long.MaxValue"/> when no rule watches the counter.
    /// </summary>
    public long TriggerCount(string counter, long plannedNs)
    {
        if (plannedNs <= 0 || !_thresholds.TryGetValue(counter, out var all))
        {
            return long.MaxValue;
        }
        double estimate = Math.Floor(all[0] * plannedNs / 1e9);
        if (estimate >= long.MaxValue / 2)
        {
            return long.MaxValue;
        }
        // The estimate is within a count or two; settle it with the very comparison the decision makes.
        long count = Math.Max(0, (long)estimate);
        while (!Guarantees(counter, count, plannedNs))
        {
            count++;
        }
        while (count > 0 && Guarantees(counter, count - 1, plannedNs))
        {
            count--;
        }
        return count;
    }

    /// <summary>
    /// The whole decision on the values an early sample would carry (every counter of the process, read
    /// together), after <paramref name="elapsedNs"/> of a window planned to last <paramref name="plannedNs"/>.
    /// </summary>
    public bool ShouldPublish(IEnumerable<KeyValuePair<string, long>> values, long elapsedNs, long plannedNs)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (elapsedNs <= 0 || elapsedNs >= plannedNs)
        {
            // At (or past) the planned end the window is published by its scheduled tick anyway.
            return false;
        }
        bool guaranteed = false;
        foreach (var (counter, count) in values)
        {
            if (!_thresholds.TryGetValue(counter, out var all))
            {
                continue;
            }
            double early = DetectorEngine.Rate(count, elapsedNs), planned = DetectorEngine.Rate(count, plannedNs);
            guaranteed |= planned > all[0];
            foreach (double threshold in all)
            {
                if (early > threshold && !(planned > threshold))
                {
                    // This rule would fire on the short window but may not on the planned one: wait.
                    return false;
                }
            }
        }
        return guaranteed;
    }
}
