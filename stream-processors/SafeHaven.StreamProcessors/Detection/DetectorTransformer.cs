using System.Text;
using SafeHaven.Core;
using SafeHaven.Core.Bounds;
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
/// Decodes each raw sample, dead-letters what is undecodable or invalid, and runs the pure
/// <see cref="DetectorEngine"/> against the task's state store.
/// </summary>
internal sealed class DetectorTransformer : ITransformer<byte[], byte[], string, DetectorOutput>
{
    private readonly DetectorEngine _engine;
    private readonly Confluent.Kafka.IDeserializer<CounterSample> _deserializer;
    private readonly string _storeName;
    private readonly TimeProvider _time;
    private readonly DetectorMetrics _metrics;
    private readonly RecordBounds _bounds;
    private ProcessorContext<string, DetectorOutput>? _context;
    private StoreAdapter? _store;
    private readonly List<SafeHaven.Schemas.Detection> _detections = [];

    // Streamiz's TransformerBuilder makes a prototype with this constructor, then creates one
    // transformer per task with the arguments given to Transformer<T>(args).
    public DetectorTransformer()
    {
        _engine = null!;
        _deserializer = null!;
        _storeName = "";
        _time = TimeProvider.System;
        _metrics = new DetectorMetrics();
        _bounds = RecordBounds.Default;
    }

    public DetectorTransformer(DetectorEngine engine, Confluent.Kafka.IDeserializer<CounterSample> deserializer,
        string storeName, TimeProvider time, DetectorMetrics metrics, RecordBounds bounds)
    {
        _bounds = bounds;
        _engine = engine;
        _deserializer = deserializer;
        _storeName = storeName;
        _time = time;
        _metrics = metrics;
    }

    public void Init(ProcessorContext<string, DetectorOutput> context)
    {
        _context = context;
        _store = new StoreAdapter((IKeyValueStore<string, byte[]>)context.GetStateStore(_storeName));
    }

    public Record<string, DetectorOutput>? Process(Record<byte[], byte[]> record)
    {
        var ctx = _context!;
        CounterSample sample;
        try
        {
            sample = KafkaSerdes.Decode(_deserializer, record.Value, ctx.Topic);
        }
        catch (AvroDecodeException e)
        {
            return DeadLetter(record, e.Message);
        }
        if (_bounds.Problem(sample, DeadLetters.UnixNanos(_time)) is { } outOfBounds)
        {
            return DeadLetter(record, "CounterSample out of bounds: " + outOfBounds);
        }
        if (SampleValidator.Problem(sample) is { } problem)
        {
            return DeadLetter(record, problem);
        }
        _metrics.Samples++;
        _detections.Clear();
        try
        {
            _engine.Evaluate(sample, _store!, _detections);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or OverflowException)
        {
            // A sample the engine cannot evaluate is this record's problem, not the detector's: Streamiz would otherwise
            // hand the exception to its inner handler and stop the stream thread.
            return DeadLetter(record, $"{e.GetType().Name}: {e.Message}");
        }
        foreach (var d in _detections)
        {
            _metrics.Detections++;
            ctx.Forward(EntityIds.Of(d.entity), new DetectorOutput(d, null));
        }
        return null;
    }

    private Record<string, DetectorOutput>? DeadLetter(Record<byte[], byte[]> record, string reason)
    {
        _metrics.DeadLetters++;
        var ctx = _context!;
        var key = DeadLetters.Key(record.Key is null ? null : Encoding.UTF8.GetString(record.Key));
        var dead = DeadLetters.Create(ctx.Topic, ctx.Partition.Value, ctx.Offset, record.Key, record.Value, reason, "detector", _time);
        ctx.Forward(key, new DetectorOutput(null, dead));
        return null;
    }

    public void Close() { }

    private sealed class StoreAdapter(IKeyValueStore<string, byte[]> store) : IRuleStateStore
    {
        public RuleState? Find(string key) => store.Get(key) is { } b ? RuleState.FromBytes(b) : null;

        public void Put(string key, RuleState state) => store.Put(key, state.ToBytes());

        public void Delete(string key) => store.Delete(key);
    }
}

/// <summary>Counters of the detector, readable while it runs.</summary>
public sealed class DetectorMetrics
{
    /// <summary>Valid samples evaluated.</summary>
    public long Samples { get; set; }

    /// <summary>Detections emitted.</summary>
    public long Detections { get; set; }

    /// <summary>Samples sent to the dead-letter topic.</summary>
    public long DeadLetters { get; set; }
}
