using System.Runtime.CompilerServices;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Detector;

/// <summary>
/// Checks a decoded sample before it can influence a detection. A sample that fails goes to the
/// dead-letter topic with the returned reason instead.
/// </summary>
public static class SampleValidator
{
    /// <summary>Null when the sample is usable, else the reason it is not.</summary>
    public static string? Problem(CounterSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        if (sample.intervalNs <= 0)
        {
            return $"intervalNs must be > 0, got {sample.intervalNs}";
        }
        if (sample.entity is null)
        {
            return "entity is missing";
        }
        if (!Identifiers.IsToken(sample.host) || sample.host != sample.entity.host)
        {
            return $"host '{sample.host}' is not a valid host id or differs from entity.host '{sample.entity.host}'";
        }
        try
        {
            EntityIds.Of(sample.entity);
        }
        catch (ArgumentException e)
        {
            return $"unknown entity: {e.Message}";
        }
        if (sample.values is null)
        {
            return "values is missing";
        }
        foreach (var (counter, value) in sample.values)
        {
            if (value < 0)
            {
                return $"counter '{counter}' has a negative count {value}";
            }
        }
        return null;
    }

    /// <summary>
    /// Null when one entry of a batch is usable, else the reason it is not. The batch's host and
    /// datacenter were validated once for all its entries (see <see cref="SampleView.HostId"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static string? Problem(SampleView sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        if (sample.DecodeProblem is { } decode)
        {
            return decode;
        }
        if (sample.IntervalNs <= 0)
        {
            return $"intervalNs must be > 0, got {sample.IntervalNs}";
        }
        try
        {
            _ = sample.EntityId;
        }
        catch (ArgumentException e)
        {
            return $"unknown entity: {e.Message}";
        }
        return sample.AnyNegativeCount ? NegativeCount(sample) : null;
    }

    // The first counter (in order) with a negative count, or null when a negative one was overwritten since.
    private static string? NegativeCount(SampleView sample)
    {
        var counters = sample.CounterSet;
        for (var i = 0; i < counters.Count; i++)
        {
            if (sample.TryGetCount(i, out var value) && value < 0)
            {
                return $"counter '{counters[i]}' has a negative count {value}";
            }
        }
        return null;
    }
}
