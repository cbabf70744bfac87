using System.Runtime.CompilerServices;
using SafeHaven.Core.Detector;
using SafeHaven.Core.Samples;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;
using Streamiz.Kafka.Net.Processors.Public;
using SafeHaven.Core;

namespace SafeHaven.StreamProcessors.Detection;

// The batch path: one record, many samples; a bad entry is dead-lettered alone.
internal sealed partial class DetectorTransformer
{
    private Confluent.Kafka.ISerializer<CounterSample>? _sampleSerializer;
    private Confluent.Kafka.IDeserializer<SampleBatch>? _registryBatches;
    private CounterSet? _countersWithinBounds;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ProcessBatch(Record<byte[], byte[]> record, byte[] value)
    {
        int count;
        try
        {
            count = _batches.Decode(value);
        }
        catch (AvroDecodeException e)
        {
            DeadLetter(record, value, e.Message);
            return;
        }
        _metrics.Batch();
        if (_batches.HostProblem is { } hostProblem)
        {
            DeadLetter(record, value, hostProblem);
            return;
        }
        if (count > 0 && ForeignHost(_batches[0].Datacenter, _batches[0].Host) is { } foreign)
        {
            DeadLetter(record, value, foreign);
            return;
        }
        // Bounded like a single sample (issue 10: a batch with a 300 KB comm, 2,000 counters or a date in 2001 was used).
        // The decoder hands out the same counter set while a host sends the same names: check each set once.
        if (count > 0 && !ReferenceEquals(_batches[0].CounterSet, _countersWithinBounds))
        {
            if (_bounds.BatchProblem(_batches[0].Counters) is { } counters)
            {
                DeadLetter(record, value, "SampleBatch out of bounds: " + counters);
                return;
            }
            _countersWithinBounds = _batches[0].CounterSet;
        }
        var nowNs = _time.NowNs();
        var evaluated = 0;
        for (var i = 0; i < count; i++)
        {
            var sample = _batches[i];
            if ((SampleValidator.Problem(sample) ?? _bounds.Problem(sample, nowNs)) is { } problem)
            {
                DeadLetterEntry(record, sample.ToCounterSample(), i, count, problem);
                continue;
            }
            evaluated++;
            if (EvaluateUncounted(sample) is { } failed)
            {
                DeadLetterEntry(record, sample.ToCounterSample(), i, count, failed);
            }
        }
        // Once per record, not per sample: an interlocked add (and, exported, an instrument) per sample cost more than a rule.
        _metrics.Sampled(evaluated);
    }

    /// <summary>
    /// With a Schema Registry the value carries a schema id, not a fingerprint: try it as a batch
    /// (the generic reader; registry deployments are not the fast path), else as a single sample.
    /// </summary>
    private bool TryRegistryBatch(Record<byte[], byte[]> record)
    {
        SampleBatch batch;
        try
        {
            batch = KafkaSerdes.Decode(_registryBatches ??= _serdes.Deserializer<SampleBatch>(), record.Value, _context!.Topic);
        }
        catch (AvroDecodeException)
        {
            return false;
        }
        _metrics.Batch();
        for (var i = 0; i < batch.samples.Count; i++)
        {
            CounterSample sample;
            try
            {
                sample = SampleBatches.Expand(batch, i);
            }
            catch (InvalidDataException e)
            {
                DeadLetter(record, record.Value, $"batch entry {i} of {batch.samples.Count}: {e.Message}");
                continue;
            }
            if ((SampleValidator.Problem(sample) ?? _bounds.Problem(sample, _time.NowNs())) is { } problem)
            {
                DeadLetterEntry(record, sample, i, batch.samples.Count, problem);
                continue;
            }
            if (Evaluate(SampleView.Of(sample)) is { } failed)
            {
                DeadLetterEntry(record, sample, i, batch.samples.Count, failed);
            }
        }
        return true;
    }

    // The dead letter of one entry holds that entry alone as a CounterSample (same wire format as
    // the topic), so an operator can read it, fix it and replay it without the rest of the batch.
    private void DeadLetterEntry(Record<byte[], byte[]> record, CounterSample sample, int index, int count, string problem)
    {
        _sampleSerializer ??= _serdes.Serializer<CounterSample>();
        byte[]? value;
        try
        {
            value = _sampleSerializer.Serialize(sample, new Confluent.Kafka.SerializationContext(Confluent.Kafka.MessageComponentType.Value, _context!.Topic));
        }
#pragma warning disable CA1031 // An entry that cannot even be re-encoded is still dead-lettered, with the whole batch as its value.
        catch (Exception)
#pragma warning restore CA1031
        {
            value = record.Value;
        }
        DeadLetter(record, value, $"batch entry {index} of {count} (seq {sample.seq}): {problem}");
    }
}
