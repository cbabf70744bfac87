using SafeHaven.Schemas;

namespace SafeHaven.Traces;

/// <summary>The topic role a trace entry was read from (docs/TRACES.md); its name in the file is the lower-case word.</summary>
public enum TraceKind
{
    /// <summary><c>samples</c>: one <see cref="CounterSample"/>.</summary>
    Samples,

    /// <summary><c>inventory</c>: an <see cref="EntityState"/>, or a tombstone (null state).</summary>
    Inventory,

    /// <summary><c>detections</c>: a <see cref="Detection"/>.</summary>
    Detections,

    /// <summary><c>results</c>: an <see cref="IsolationResult"/>.</summary>
    Results,
}

/// <summary>
/// One record of a trace, typed: exactly one of <see cref="Sample"/>, <see cref="Inventory"/>, <see cref="Detection"/>
/// and <see cref="Result"/> is set, matching <see cref="Kind"/> (none for an inventory tombstone).
/// </summary>
public sealed record TraceEntry
{
    /// <summary>The topic role it was read from.</summary>
    public required TraceKind Kind { get; init; }

    /// <summary>Kafka key of the record it came from, or null.</summary>
    public string? Key { get; init; }

    /// <summary>Kafka timestamp of the record it came from, Unix epoch ns; replay paces by it.</summary>
    public long TimestampNs { get; init; }

    /// <summary>The sample (kind <see cref="TraceKind.Samples"/>).</summary>
    public CounterSample? Sample { get; init; }

    /// <summary>The entity state (kind <see cref="TraceKind.Inventory"/>; null for a tombstone).</summary>
    public EntityState? Inventory { get; init; }

    /// <summary>The detection (kind <see cref="TraceKind.Detections"/>).</summary>
    public Detection? Detection { get; init; }

    /// <summary>The result (kind <see cref="TraceKind.Results"/>).</summary>
    public IsolationResult? Result { get; init; }

    /// <summary>Cluster the record was read from (the recorder's <c>--cluster</c>); null in traces written before the field.</summary>
    public string? Cluster { get; init; }

    /// <summary>A sample entry keyed by its host.</summary>
    public static TraceEntry OfSample(CounterSample sample, long timestampNs)
    {
        ArgumentNullException.ThrowIfNull(sample);
        return new() { Kind = TraceKind.Samples, Key = sample.host, TimestampNs = timestampNs, Sample = sample };
    }

    /// <summary>An inventory entry (null <paramref name="state"/>: the tombstone of <paramref name="key"/>).</summary>
    public static TraceEntry OfInventory(string key, EntityState? state, long timestampNs) =>
        new() { Kind = TraceKind.Inventory, Key = key, TimestampNs = timestampNs, Inventory = state };

    /// <summary>A detection entry keyed by <paramref name="key"/> (the entity id).</summary>
    public static TraceEntry OfDetection(string? key, Detection detection, long timestampNs) =>
        new() { Kind = TraceKind.Detections, Key = key, TimestampNs = timestampNs, Detection = detection ?? throw new ArgumentNullException(nameof(detection)) };

    /// <summary>A result entry keyed by its command id.</summary>
    public static TraceEntry OfResult(IsolationResult result, long timestampNs)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new() { Kind = TraceKind.Results, Key = result.commandId, TimestampNs = timestampNs, Result = result };
    }

    /// <summary>The pacing time of this entry: its Kafka timestamp, or a sample's window end when the trace has none.</summary>
    public long PaceNs => TimestampNs != 0 ? TimestampNs : Sample?.timestampNs ?? 0;

    internal static string Word(TraceKind kind) => kind switch
    {
        TraceKind.Samples => "samples",
        TraceKind.Inventory => "inventory",
        TraceKind.Detections => "detections",
        TraceKind.Results => "results",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    internal static TraceKind? Parse(string word) => word switch
    {
        "samples" => TraceKind.Samples,
        "inventory" => TraceKind.Inventory,
        "detections" => TraceKind.Detections,
        "results" => TraceKind.Results,
        _ => null,
    };

    internal TraceRecord ToRecord() => new()
    {
        kind = Word(Kind), key = Key, timestampNs = TimestampNs,
        sample = Sample, inventory = Inventory, detection = Detection, result = Result, cluster = Cluster,
    };

    /// <summary>The typed entry of <paramref name="record"/>, or why it is not a valid one.</summary>
    internal static (TraceEntry? Entry, string? Problem) From(TraceRecord record)
    {
        if (Parse(record.kind) is not { } kind)
        {
            return (null, $"unknown kind '{Core.Identifiers.Printable(record.kind)}' (expected samples, inventory, detections or results)");
        }
        var set = (record.sample is null ? 0 : 1) + (record.inventory is null ? 0 : 1) + (record.detection is null ? 0 : 1) + (record.result is null ? 0 : 1);
        var matches = kind switch
        {
            TraceKind.Samples => record.sample is not null,
            TraceKind.Inventory => set == 0 || record.inventory is not null,
            TraceKind.Detections => record.detection is not null,
            _ => record.result is not null,
        };
        if (!matches || set > 1)
        {
            return (null, $"kind {record.kind} with {set} of sample/inventory/detection/result set (expected exactly its own{(kind == TraceKind.Inventory ? ", or none for a tombstone" : "")})");
        }
        return (new TraceEntry
        {
            Kind = kind, Key = record.key, TimestampNs = record.timestampNs,
            Sample = record.sample, Inventory = record.inventory, Detection = record.detection, Result = record.result, Cluster = record.cluster,
        }, null);
    }
}
