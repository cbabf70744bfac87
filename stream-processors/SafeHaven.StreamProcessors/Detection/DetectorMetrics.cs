using SafeHaven.Kafka.DeadLetters;
using SafeHaven.Kafka.Telemetry;

namespace SafeHaven.StreamProcessors.Detection;

/// <summary>
/// Counters of the detector, readable while it runs from any thread; an exported instance also records them in the
/// process's instruments (<see cref="SafeHavenMetrics"/>, <see cref="DeadLetterMetrics"/>).
/// </summary>
public sealed class DetectorMetrics
{
    private long _samples;
    private long _batches;
    private long _detections;
    private long _deadLetters;

    /// <summary>True for the running detector's instance, whose counts reach the instruments; warm-ups and tests leave it false.</summary>
    public bool Exported { get; init; }

    /// <summary>Valid samples evaluated (each entry of a batch counts once).</summary>
    public long Samples => Interlocked.Read(ref _samples);

    /// <summary>Batch records decoded (each carries many samples).</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Detections emitted.</summary>
    public long Detections => Interlocked.Read(ref _detections);

    /// <summary>Samples (or whole undecodable records) sent to the dead-letter topic.</summary>
    public long DeadLetters => Interlocked.Read(ref _deadLetters);

    internal void Sampled(int samples)
    {
        if (samples == 0)
        {
            return;
        }
        Interlocked.Add(ref _samples, samples);
        if (Exported)
        {
            SafeHavenMetrics.DetectorSampled(samples);
        }
    }

    internal void Batch()
    {
        Interlocked.Increment(ref _batches);
        if (Exported)
        {
            SafeHavenMetrics.DetectorBatch();
        }
    }

    internal void Detected(string rule, string scope)
    {
        Interlocked.Increment(ref _detections);
        if (Exported)
        {
            SafeHavenMetrics.Detected(rule, scope);
        }
    }

    internal void DeadLettered(string topic, string reason)
    {
        Interlocked.Increment(ref _deadLetters);
        if (Exported)
        {
            DeadLetterMetrics.CountSent("detector", topic, reason);
        }
    }
}
