using Confluent.Kafka;
using SafeHaven.Core.Samples;
using SafeHaven.Schemas;

namespace SafeHaven.Kafka.Serialization;

/// <summary>
/// Reads any value of <c>safehaven.samples</c> as the <see cref="CounterSample"/>s it carries: a
/// <see cref="SampleBatch"/> (what probes publish) or a single <see cref="CounterSample"/> (older
/// probes, recorded traces). For observers, tools and tests; the detector has its own fast path.
/// </summary>
public sealed class SamplesTopicReader
{
    private readonly KafkaSerdes _serdes;
    private readonly IDeserializer<SampleBatch> _batches;
    private readonly IDeserializer<CounterSample> _samples;

    /// <summary>Creates a reader for the wire format of <paramref name="serdes"/>.</summary>
    public SamplesTopicReader(KafkaSerdes serdes)
    {
        _serdes = serdes ?? throw new ArgumentNullException(nameof(serdes));
        _batches = serdes.Deserializer<SampleBatch>();
        _samples = serdes.Deserializer<CounterSample>();
    }

    /// <summary>The samples in <paramref name="value"/>, in order.</summary>
    /// <exception cref="AvroDecodeException">Neither a batch nor a sample, or a batch entry is malformed.</exception>
    public IReadOnlyList<CounterSample> Read(byte[]? value, string topic)
    {
        // Single-object encoding names its writer schema; with a registry, try the batch first.
        if (value is not null && (SampleBatchDecoder.IsSampleBatch(value) || _serdes.UsesRegistry))
        {
            try
            {
                return SampleBatches.Expand(KafkaSerdes.Decode(_batches, value, topic));
            }
            catch (InvalidDataException e)
            {
                throw new AvroDecodeException($"{nameof(SampleBatch)}: {e.Message}", e);
            }
            catch (AvroDecodeException) when (_serdes.UsesRegistry)
            {
                // Not a batch: read it as a single sample below.
            }
        }
        return [KafkaSerdes.Decode(_samples, value, topic)];
    }
}
