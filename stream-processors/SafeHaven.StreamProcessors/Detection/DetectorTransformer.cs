using System.Runtime.CompilerServices;
using System.Text;
using SafeHaven.Core;
using SafeHaven.Core.Bounds;
using SafeHaven.Core.Detector;
using SafeHaven.Kafka.Clients;
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
    private readonly RecordBounds _bounds;
    private readonly RoleSeals _seals;
    private readonly string _detectionsTopic;
    private readonly Confluent.Kafka.ISerializer<SafeHaven.Schemas.Detection> _detectionWriter;
    // The probe key that sealed the record in hand (null when samples are not checked here).
    private SafeHaven.Security.KeyIdentity? _sealedBy;
    private readonly Confluent.Kafka.IDeserializer<CounterSample> _deserializer;
    private readonly SampleBatchDecoder _batches = new();
    private readonly List<SafeHaven.Schemas.Detection> _detections = [];
    private ProcessorContext<string, DetectorOutput>? _context;
    // The span of the record in hand, held here rather than read from Activity.Current, which Streamiz's own code may set.
    private System.Diagnostics.Activity? _span;
    private readonly string? _cluster;
    private CachedRuleStateStore? _store;

    // Streamiz's TransformerBuilder makes a prototype with this constructor, then creates one
    // transformer per task with the arguments given to Transformer<T>(args).
    public DetectorTransformer()
        : this(null!, new KafkaSerdes(), "", TimeProvider.System, new DetectorMetrics(), RecordBounds.Default, RoleSeals.None, "detections", "")
    {
    }

    public DetectorTransformer(DetectorEngine engine, KafkaSerdes serdes, string storeName, TimeProvider time, DetectorMetrics metrics, RecordBounds bounds,
        RoleSeals seals, string detectionsTopic, string cluster)
    {
        _cluster = cluster.Length > 0 ? cluster : null;
        _bounds = bounds;
        _seals = seals;
        _detectionsTopic = detectionsTopic;
        _detectionWriter = serdes.Serializer<SafeHaven.Schemas.Detection>();
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
        // One span per samples record, the child of the probe's (null and one check when nothing listens).
        using var span = SafeHaven.Kafka.Tracing.SafeHavenActivity.StartConsumer(SafeHaven.Kafka.Tracing.SafeHavenActivity.Detector, SafeHaven.Kafka.Tracing.SafeHavenActivity.Detect, record.Headers);
        _span = span;
        try
        {
            return ProcessTraced(record);
        }
        finally
        {
            _span = null;
        }
    }

    private Record<string, DetectorOutput>? ProcessTraced(Record<byte[], byte[]> record)
    {
        _sealedBy = null;
        if (_seals.Checks(SafeHaven.Kafka.Clients.Seals.Kinds.Samples))
        {
            try
            {
                _sealedBy = SafeHaven.Kafka.Clients.Seals.Require(_seals.Verifier!, SafeHaven.Kafka.Clients.Seals.Kinds.Samples, record.Key, record.Value, record.Headers);
            }
            catch (RecordRejectedException e)
            {
                DeadLetter(record, record.Value, e.Message);
                return null;
            }
        }
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
        if (_bounds.Problem(sample, _time.NowNs()) is { } outOfBounds)
        {
            DeadLetter(record, record.Value, "CounterSample out of bounds: " + outOfBounds);
            return null;
        }
        if (SampleValidator.Problem(sample) is { } problem)
        {
            DeadLetter(record, record.Value, problem);
            return null;
        }
        if (ForeignHost(sample.entity.datacenter, sample.entity.host) is { } foreign)
        {
            DeadLetter(record, record.Value, foreign);
            return null;
        }
        if (Evaluate(SampleView.Of(sample)) is { } failed)
        {
            DeadLetter(record, record.Value, failed);
        }
        return null;
    }

    // Null, or why the engine could not evaluate the sample: that is the record's problem, not the detector's
    // (Streamiz would otherwise hand the exception to its inner handler and stop the stream thread).
    private string? Evaluate(SampleView sample)
    {
        _metrics.Sampled(1);
        return EvaluateUncounted(sample);
    }

    // Evaluate without counting the sample: the batch path counts a record's samples at once.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private string? EvaluateUncounted(SampleView sample)
    {
        if (_detections.Count != 0)
        {
            _detections.Clear();
        }
        try
        {
            _engine.Evaluate(sample, _store!, _detections);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or OverflowException)
        {
            return $"{e.GetType().Name}: {e.Message}";
        }
        if (_detections.Count != 0)
        {
            Emit(sample);
        }
        return null;
    }

    private void Emit(SampleView sample)
    {
        foreach (var d in _detections)
        {
            _metrics.Detected(d.rule, d.scope);
            // Before the seal: it covers the cluster the detection names.
            d.cluster = _cluster;
            // Not the sample record's headers (its probe seal): the detection's own seal, or none.
            var headers = SealOf(sample.EntityId, d);
            if (_span is { } span)
            {
                span.AddEvent(new System.Diagnostics.ActivityEvent("detection", tags: new System.Diagnostics.ActivityTagsCollection
                {
                    ["safehaven.entity"] = sample.EntityId, ["safehaven.rule"] = d.rule, ["safehaven.detection_id"] = d.detectionId,
                }));
                SafeHaven.Kafka.Tracing.TraceHeaders.Inject(span, headers);
            }
            _context!.SetHeaders(headers);
            _context!.Forward(sample.EntityId, new DetectorOutput(d, null));
        }
    }

    // Why a probe key may not speak for this host's samples, or null (also when samples are not checked here).
    private string? ForeignHost(string datacenter, string host) =>
        _sealedBy is { } who && who.Subject != datacenter + "/" + host
            ? $"samples of host '{datacenter}/{host}' sealed by the probe key {who.KeyId} of '{who.Subject}'"
            : null;

    private Confluent.Kafka.Headers SealOf(string key, SafeHaven.Schemas.Detection d)
    {
        if (_seals.Detector is not { } signer)
        {
            return [];
        }
        // The sink serializes the same record with the same serializer: the bytes signed are the bytes written.
        var bytes = _detectionWriter.Serialize(d, new Confluent.Kafka.SerializationContext(Confluent.Kafka.MessageComponentType.Value, _detectionsTopic));
        return SafeHaven.Kafka.Clients.Seals.Headers(signer, SafeHaven.Kafka.Clients.Seals.Kinds.Detections, key, bytes);
    }

    private void DeadLetter(Record<byte[], byte[]> record, byte[]? value, string reason)
    {
        _metrics.DeadLettered(_context!.Topic, reason);
        var ctx = _context!;
        var key = DeadLetters.Key(record.Key is null ? null : Encoding.UTF8.GetString(record.Key));
        var dead = DeadLetters.Create(ctx.Topic, ctx.Partition.Value, ctx.Offset, record.Key, value, reason, "detector", _time);
        ctx.Forward(key, new DetectorOutput(null, dead));
    }

    public void Close() { }
}
