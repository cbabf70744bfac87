using SafeHaven.Schemas;

namespace SafeHaven.Evaluation;

/// <summary>How one process counts (docs/EVALUATION.md, "What counts").</summary>
public enum Outcome
{
    /// <summary>A channel process detected by a window ending after its onset.</summary>
    TruePositive,

    /// <summary>A benign process detected at least once.</summary>
    FalsePositive,

    /// <summary>A channel process with no detection after its onset.</summary>
    FalseNegative,

    /// <summary>A benign process never detected.</summary>
    TrueNegative,
}

/// <summary>What to do with processes of the trace that the labels do not name.</summary>
public enum UnlabelledPolicy
{
    /// <summary>Leave them out of precision and recall; report how many were detected.</summary>
    Ignore,

    /// <summary>Count them as benign: a detection is a false positive (for traces known to hold no channel).</summary>
    Benign,
}

/// <summary>One process's score.</summary>
/// <param name="Host">Host id.</param>
/// <param name="Pid">Process id.</param>
/// <param name="Comm">Command name from its last sample, or null when never sampled.</param>
/// <param name="Kind">Its label; null for an unlabelled process.</param>
/// <param name="OnsetNs">Channel onset, Unix ns (0 for benign and unlabelled processes).</param>
/// <param name="Outcome">How it counts; null for an unlabelled process under <see cref="UnlabelledPolicy.Ignore"/>.</param>
/// <param name="Sampled">Whether the trace has a valid sample of it.</param>
/// <param name="Detections">Its detections (kind detected, repeats included).</param>
/// <param name="DetectionsBeforeOnset">Channel processes: detections whose window ended at or before the onset.</param>
/// <param name="FirstDetection">The detection that decided the outcome: the first after the onset (channel) or the first (other).</param>
/// <param name="Isolation">The first succeeded isolation result of it finished at or after that detection, when the trace has results.</param>
public sealed record ProcessOutcome(
    string Host,
    int Pid,
    string? Comm,
    LabelKind? Kind,
    long OnsetNs,
    Outcome? Outcome,
    bool Sampled,
    int Detections,
    int DetectionsBeforeOnset,
    Detection? FirstDetection,
    IsolationResult? Isolation)
{
    /// <summary>Detection latency: the deciding detection's window end − onset, ns (true positives only).</summary>
    public long? LatencyNs => Outcome == Evaluation.Outcome.TruePositive ? FirstDetection!.detectedAtNs - OnsetNs : null;

    /// <summary>How long the move took: the result's finishedAtNs − startedAtNs, ns.</summary>
    public long? IsolationNs => Isolation is { } r ? r.finishedAtNs - r.startedAtNs : null;

    /// <summary>Onset to isolated: the result's finishedAtNs − onset, ns (true positives with a result only).</summary>
    public long? TotalNs => Outcome == Evaluation.Outcome.TruePositive && Isolation is { } r ? r.finishedAtNs - OnsetNs : null;
}

/// <summary>min, max, mean, geometric mean and median of a set of durations, in ms; all null when empty.</summary>
/// <param name="Count">How many durations.</param>
/// <param name="MinMs">Smallest.</param>
/// <param name="MaxMs">Largest.</param>
/// <param name="MeanMs">Arithmetic mean.</param>
/// <param name="GeomeanMs">Geometric mean (null also when a duration is ≤ 0, where it is undefined).</param>
/// <param name="MedianMs">Median (mean of the two middle ones for an even count).</param>
public sealed record LatencySummary(int Count, double? MinMs, double? MaxMs, double? MeanMs, double? GeomeanMs, double? MedianMs)
{
    /// <summary>The summary of <paramref name="durationsNs"/>.</summary>
    public static LatencySummary Of(IEnumerable<long> durationsNs)
    {
        ArgumentNullException.ThrowIfNull(durationsNs);
        var ms = durationsNs.Select(ns => ns / 1e6).Order().ToArray();
        if (ms.Length == 0)
        {
            return new(0, null, null, null, null, null);
        }
        var mid = ms.Length / 2;
        var median = ms.Length % 2 == 1 ? ms[mid] : (ms[mid - 1] + ms[mid]) / 2;
        // exp(mean(log)) can land an ulp outside [min, max], where the geometric mean always lies.
        double? geomean = ms[0] > 0 ? Math.Clamp(Math.Exp(ms.Average(Math.Log)), ms[0], ms[^1]) : null;
        return new(ms.Length, ms[0], ms[^1], ms.Average(), geomean, median);
    }
}
