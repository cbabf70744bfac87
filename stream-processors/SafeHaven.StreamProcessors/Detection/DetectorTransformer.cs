using System.Text;
using SafeHaven.Core;
using SafeHaven.Core.Detector;
using SafeHaven.Kafka.DeadLetters;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;
using Streamiz.Kafka.Net.Processors.Public;
using Streamiz.Kafka.Net.State;

namespace SafeHaven.StreamProcessors.Detection;

/// <summary>One output of the detector: a detection or a dead letter, never both.</summary>
/// <param name="Detection">A detection, keyed by entity id.</param>
/// <param name="DeadLetter">A rejected sample, keyed by its original key.</param>
public sealed record DetectorOutput(SafeHaven.Schemas.Detection? Detection, DeadLetter? DeadLetter);

/// <summary>
/// Decodes each raw record of the samples topic, a <see cref="SampleBatch"/> or a single
/// <see cref="CounterSample"/> (told apart by the writer schema's fingerprint), dead-letters what
/// is undecodable or invalid (a bad entry of a batch alone), and runs the pure
/// <see cref="DetectorEngine"/> against the task's state store.
/// </summary>
internal sealed partial class DetectorTransformer : ITransformer<byte[], byte[], string, DetectorOutput>
{
    private readonly DetectorEngine _engine;
    private readonly KafkaSerdes _serdes;
    private readonly string _storeName;
    private readonly TimeProvider _time;
    private readonly DetectorMetrics _metrics;
    private readonly Confluent.Kafka.IDeserializer<CounterSample> _deserializer;
    private readonly SampleBatchDecoder _batches = new();
    private readonly List<SafeHaven.Schemas.Detection> _detections = [];
    private ProcessorContext<string, DetectorOutput>? _context;
    private CachedRuleStateStore? _store;

    // Streamiz's TransformerBuilder makes a prototype with this constructor, then creates one
    // transformer per task with the arguments given to Transformer<T>(args).
    public DetectorTransformer()
        : this(null!, new KafkaSerdes(), "", TimeProvider.System, new DetectorMetrics())
    {
    }

    public DetectorTransformer(DetectorEngine engine, KafkaSerdes serdes, string storeName, TimeProvider time, DetectorMetrics metrics)
    {
        _engine = engine;
        _serdes = serdes;
        _storeName = storeName;
        _time = time;
        _metrics = metrics;
        _deserializer = serdes.Deserializer<CounterSample>();
    }

    public void Init(ProcessorContext<string, DetectorOutput> context)
    {
        _context = context;
        _store = new CachedRuleStateStore((IKeyValueStore<string, byte[]>)context.GetStateStore(_storeName));
    }

    public Record<string, DetectorOutput>? Process(Record<byte[], byte[]> record)
    {
        if (record.Value is { } value && SampleBatchDecoder.IsSampleBatch(value))
        {
            ProcessBatch(record, value);
            return null;
        }
        if (_serdes.UsesRegistry && TryRegistryBatch(record))
        {
            return null;
        }
        CounterSample sample;
        try
        {
            sample = KafkaSerdes.Decode(_deserializer, record.Value, _context!.Topic);
        }
        catch (AvroDecodeException e)
        {
            DeadLetter(record, record.Value, e.Message);
            return null;
        }
        if (SampleValidator.Problem(sample) is { } problem)
        {
            DeadLetter(record, record.Value, problem);
            return null;
        }
        Evaluate(SampleView.Of(sample));
        return null;
    }

    private void Evaluate(SampleView sample)
    {
        _metrics.Samples++;
        _detections.Clear();
        _engine.Evaluate(sample, _store!, _detections);
        foreach (var d in _detections)
        {
            _metrics.Detections++;
            _context!.Forward(sample.EntityId, new DetectorOutput(d, null));
        }
    }

    private void DeadLetter(Record<byte[], byte[]> record, byte[]? value, string reason)
    {
        _metrics.DeadLetters++;
        var ctx = _context!;
        var key = record.Key is null ? "" : Encoding.UTF8.GetString(record.Key);
        var dead = DeadLetters.Create(ctx.Topic, ctx.Partition.Value, ctx.Offset, record.Key, value, reason, "detector", _time);
        ctx.Forward(key, new DetectorOutput(null, dead));
    }

    public void Close() { }
}

/// <summary>Counters of the detector, readable while it runs.</summary>
public sealed class DetectorMetrics
{
    /// <summary>Valid samples evaluated (each entry of a batch counts once).</summary>
    public long Samples { get; set; }

    /// <summary>Batch records decoded (each carries many samples).</summary>
    public long Batches { get; set; }

    /// <summary>Detections emitted.</summary>
    public long Detections { get; set; }

    /// <summary>Samples (or whole undecodable records) sent to the dead-letter topic.</summary>
    public long DeadLetters { get; set; }
}
