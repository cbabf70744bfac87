using SafeHaven.Schemas;

namespace SafeHaven.Probes;

/// <summary>Where the sampler hands its samples (Kafka producer, stdout, a test's list).</summary>
public interface ISampleSink
{
    /// <summary>Publishes one sample; called from the sampling loop, so it should not block for long.</summary>
    void Publish(CounterSample sample);
}
