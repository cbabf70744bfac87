using SafeHaven.Schemas;

namespace SafeHaven.Probes;

/// <summary>Where the sampler hands its samples (Kafka producer, stdout, a test's list).</summary>
public interface ISampleSink
{
    /// <summary>Publishes one sample; called from the sampling loop, so it should not block for long.</summary>
    void Publish(CounterSample sample);

    /// <summary>
    /// Publishes every sample of one sampling tick of this host (consecutive <c>seq</c>). A sink that
    /// batches (Kafka: one <c>SampleBatch</c> record per tick) overrides this; by default each sample is
    /// published on its own, in order.
    /// </summary>
    void PublishTick(IReadOnlyList<CounterSample> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        foreach (var sample in samples)
        {
            Publish(sample);
        }
    }
}
