using System.Text;
using SafeHaven.Core;
using SafeHaven.Core.Bounds;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.DeadLetters;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;
using Streamiz.Kafka.Net.Processors.Public;

namespace SafeHaven.StreamProcessors.Siem;

/// <summary>One output of the projector: a SIEM event (JSON text) or a dead letter, never both.</summary>
/// <param name="Event">One event on one line, keyed by entity id.</param>
/// <param name="DeadLetter">A rejected record, keyed by its original key.</param>
public sealed record SiemOutput(string? Event, DeadLetter? DeadLetter);

/// <summary>
/// Decodes each raw record of the detections and results topics, checks its seal when the kind is checked here
/// (<see cref="RoleSeals.Require"/>, as the planner does) and its bounds, and projects it; every record it cannot use
/// becomes a dead letter with the reason, so no record stops the projector.
/// </summary>
internal sealed class SiemTransformer : ITransformer<byte[], byte[], string, SiemOutput>
{
    private readonly ISiemProjection _projection;
    private readonly string _detectionsTopic;
    private readonly RoleSeals _seals;
    private readonly RecordBounds _bounds;
    private readonly TimeProvider _time;
    private readonly SiemMetrics _metrics;
    private readonly Confluent.Kafka.IDeserializer<SafeHaven.Schemas.Detection> _detections;
    private readonly Confluent.Kafka.IDeserializer<IsolationResult> _results;
    private ProcessorContext<string, SiemOutput>? _context;

    // Streamiz's TransformerBuilder makes a prototype with this constructor, then one transformer per task with the
    // arguments given to Transformer<T>(args).
    public SiemTransformer()
        : this(new OcsfProjection("safehaven"), new KafkaSerdes(), "detections", RoleSeals.None, RecordBounds.Replay, TimeProvider.System, new SiemMetrics())
    {
    }

    public SiemTransformer(ISiemProjection projection, KafkaSerdes serdes, string detectionsTopic, RoleSeals seals, RecordBounds bounds,
        TimeProvider time, SiemMetrics metrics)
    {
        _projection = projection;
        _detectionsTopic = detectionsTopic;
        _seals = seals;
        _bounds = bounds;
        _time = time;
        _metrics = metrics;
        _detections = serdes.Deserializer<SafeHaven.Schemas.Detection>();
        _results = serdes.Deserializer<IsolationResult>();
    }

    public void Init(ProcessorContext<string, SiemOutput> context) => _context = context;

    public Record<string, SiemOutput>? Process(Record<byte[], byte[]> record)
    {
        var ctx = _context!;
        var kind = ctx.Topic == _detectionsTopic ? Seals.Kinds.Detections : Seals.Kinds.Results;
        try
        {
            if (_seals.Checks(kind))
            {
                Seals.Require(_seals.Verifier!, kind, record.Key, record.Value, record.Headers);
            }
            var nowNs = _time.NowNs();
            var (key, json) = kind == Seals.Kinds.Detections
                ? Project(KafkaSerdes.Decode(_detections, record.Value, ctx.Topic), nowNs)
                : Project(KafkaSerdes.Decode(_results, record.Value, ctx.Topic), nowNs);
            _metrics.Projected();
            // The event is plain JSON for any SIEM: no seal headers of the input travel with it.
            ctx.SetHeaders([]);
            ctx.Forward(key, new SiemOutput(json, null));
            return null;
        }
        // Whatever a record can make the projection throw is the record's fault; an exception escaping here would go to
        // Streamiz's inner handler and stop the stream thread (NullReferenceException included: a field the contract
        // makes non-null but a hand-written record left out).
        catch (Exception e) when (e is AvroDecodeException or RecordRejectedException or ArgumentException or InvalidOperationException
            or FormatException or OverflowException or NullReferenceException)
        {
            var why = e is AvroDecodeException or RecordRejectedException ? e.Message : $"{e.GetType().Name}: {e.Message}";
            _metrics.DeadLettered(ctx.Topic, why);
            var dead = DeadLetters.Create(ctx.Topic, ctx.Partition.Value, ctx.Offset, record.Key, record.Value, why, "siem", _time);
            ctx.SetHeaders([]);
            ctx.Forward(DeadLetters.Key(record.Key is null ? null : Encoding.UTF8.GetString(record.Key)), new SiemOutput(null, dead));
            return null;
        }
    }

    private (string, string) Project(SafeHaven.Schemas.Detection d, long nowNs)
    {
        RecordRejectedException.Require(d, _bounds.Problem(d, nowNs));
        return (EntityIds.Of(d.entity), SiemJson.Text(_projection.Finding(d)));
    }

    private (string, string) Project(IsolationResult r, long nowNs)
    {
        RecordRejectedException.Require(r, _bounds.Problem(r, nowNs));
        return (EntityIds.Of(r.entity), SiemJson.Text(_projection.Remediation(r)));
    }

    public void Close() { }
}

/// <summary>Counters of the projector, readable from any thread; an exported instance also records them in the process's instruments.</summary>
public sealed class SiemMetrics
{
    private long _events;
    private long _deadLetters;

    /// <summary>True for the running projector's instance, whose counts reach the instruments.</summary>
    public bool Exported { get; init; }

    /// <summary>Events written to the SIEM topic.</summary>
    public long Events => Interlocked.Read(ref _events);

    /// <summary>Records sent to the dead-letter topic.</summary>
    public long DeadLetters => Interlocked.Read(ref _deadLetters);

    internal void Projected()
    {
        Interlocked.Increment(ref _events);
        if (Exported)
        {
            SafeHaven.Kafka.Telemetry.SafeHavenMetrics.SiemEvent();
        }
    }

    internal void DeadLettered(string topic, string reason)
    {
        Interlocked.Increment(ref _deadLetters);
        if (Exported)
        {
            SafeHaven.Kafka.DeadLetters.DeadLetterMetrics.CountSent("siem", topic, reason);
        }
    }
}
