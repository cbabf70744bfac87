using SafeHaven.Schemas;

namespace SafeHaven.Core.Bounds;

/// <summary>
/// Size and range limits of every record a role reads from the bus, checked right after decoding and before the record
/// can change any state. Each <c>Problem</c> returns null for a record within bounds, else the reason, which goes to
/// the dead-letter topic with the record. Pure: "now" is a parameter. The limits are generous for anything a
/// SafeHaven role writes and exist to stop records that would cost memory or CPU out of proportion (a 300 KB
/// <c>comm</c>, a 30,000-entry value map) or that claim an absurd time. Semantic checks stay with the consumer
/// (e.g. <c>SampleValidator</c>).
/// </summary>
public sealed partial record RecordBounds
{
    /// <summary>Highest pid Linux can hand out (PID_MAX_LIMIT on 64-bit).</summary>
    public const int MaxPid = 4_194_304;

    /// <summary>The defaults.</summary>
    public static RecordBounds Default { get; } = new();

    /// <summary>The defaults without the time window: for traces replayed through the same code, whose times are past.</summary>
    public static RecordBounds Replay { get; } = new() { MaxAge = null, MaxAhead = null };

    /// <summary>Ids (entity, command, detection, slot, group, key): at most this many characters. Default 512.</summary>
    public int MaxIdLength { get; init; } = 512;

    /// <summary>Names (rule, counter, level, scope, status, map keys, phase names, comm): at most this many characters. Default 256.</summary>
    public int MaxNameLength { get; init; } = 256;

    /// <summary>Free text (errors, reasons, attribute values, CPU lists): at most this many characters. Default 16 KiB.</summary>
    public int MaxTextLength { get; init; } = 16 * 1024;

    /// <summary>Entries of a map (sample values, phases, attributes, counter status). Default 1024.</summary>
    public int MaxMapEntries { get; init; } = 1024;

    /// <summary>Items of a list (levels, reasons). Default 256.</summary>
    public int MaxListItems { get; init; } = 256;

    /// <summary>Members of one ledger slot. Default 4096.</summary>
    public int MaxSlotMembers { get; init; } = 4096;

    /// <summary>Bytes of a command signature. Default 1024.</summary>
    public int MaxSignatureBytes { get; init; } = 1024;

    /// <summary>How far in the past a record's own timestamp may be (null: unchecked, e.g. to replay old traces). Default 24 h.</summary>
    public TimeSpan? MaxAge { get; init; } = TimeSpan.FromHours(24);

    /// <summary>How far ahead of this host's clock a record's timestamp may be (null: unchecked). Default 5 min of clock skew.</summary>
    public TimeSpan? MaxAhead { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Null when <paramref name="sample"/> is within bounds at <paramref name="nowNs"/> (Unix ns), else why not.</summary>
    public string? Problem(CounterSample sample, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(sample);
        return Name(sample.host, "host") ?? Entity(sample.entity, "entity")
            ?? Map(sample.values, "values", v => v < 0 ? "a negative count" : null)
            ?? Time(sample.timestampNs, "timestampNs", nowNs, past: true);
    }

    /// <summary>
    /// Null when the counter list of a sample batch is within bounds, else why not. Checked once per batch, since every
    /// entry shares it: the batch path's equivalent of the values map of a single sample.
    /// </summary>
    public string? BatchProblem(IReadOnlyList<string> counters)
    {
        ArgumentNullException.ThrowIfNull(counters);
        if (counters.Count > MaxMapEntries)
        {
            return $"counters has {counters.Count} entries, more than {MaxMapEntries}";
        }
        foreach (var counter in counters)
        {
            if (Name(counter, "a counter name") is { } problem)
            {
                return problem;
            }
        }
        return null;
    }

    /// <summary>
    /// Null when one entry of a sample batch is within bounds at <paramref name="nowNs"/>, else why not. Its host and pid
    /// are checked as it is identified and its counters with its batch (<see cref="BatchProblem"/>).
    /// </summary>
    // Once per sample of every batch: compiled fully optimised at once, like the detector's other per-sample code.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public string? Problem(SafeHaven.Core.Detector.SampleView sample, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(sample);
        // The common case, checked here with nothing called (the checks below are the reference and name the problem).
        var max = MaxNameLength;
        var ts = sample.TimestampNs;
        if ((sample.Comm?.Length ?? 0) <= max && (sample.Container?.Length ?? 0) <= max && (sample.Vm?.Length ?? 0) <= max
            && (MaxAhead is not { } ahead || ts <= nowNs + (ahead.Ticks * 100L))
            && (MaxAge is not { } age || ts >= nowNs - (age.Ticks * 100L)))
        {
            return null;
        }
        return OptionalName(sample.Comm, "entity.comm") ?? OptionalName(sample.Container, "entity.container") ?? OptionalName(sample.Vm, "entity.vm")
            ?? Time(sample.TimestampNs, "timestampNs", nowNs, past: true);
    }

    /// <summary>Null when <paramref name="detection"/> is within bounds at <paramref name="nowNs"/>, else why not.</summary>
    public string? Problem(Detection detection, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(detection);
        return Id(detection.detectionId, "detectionId") ?? Entity(detection.entity, "entity")
            ?? Name(detection.rule, "rule") ?? Name(detection.counter, "counter") ?? Name(detection.scope, "scope")
            ?? OptionalName(detection.kind, "kind")
            ?? Finite(detection.rate, "rate") ?? Finite(detection.threshold, "threshold")
            ?? Time(detection.detectedAtNs, "detectedAtNs", nowNs, past: true)
            ?? Time(detection.firstSampleAtNs, "firstSampleAtNs", nowNs, past: true);
    }

    /// <summary>
    /// Null when <paramref name="state"/> is within bounds, else why not. Inventory is compacted state read from the start:
    /// an actuator announces itself once and may run for weeks, so only a timestamp ahead of now is refused.
    /// </summary>
    public string? Problem(EntityState state, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(state);
        return Id(state.entityId, "entityId") ?? Name(state.kind, "kind") ?? Entity(state.entity, "entity")
            ?? OptionalId(state.tenant, "tenant") ?? OptionalText(state.cpus, "cpus") ?? OptionalText(state.isolationPool, "isolationPool")
            ?? List(state.levels, "levels", l => Name(l, "a level"))
            ?? Map(state.counterStatus, "counterStatus", v => Text(v, "its value"))
            ?? Map(state.attributes, "attributes", v => Text(v, "its value"))
            ?? Time(state.updatedAtNs, "updatedAtNs", nowNs, past: false);
    }

    /// <summary>Null when <paramref name="command"/> is within bounds at <paramref name="nowNs"/>, else why not.</summary>
    public string? Problem(IsolationCommand command, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(command);
        return Id(command.commandId, "commandId") ?? OptionalId(command.detectionId, "detectionId") ?? Entity(command.entity, "entity")
            ?? Name(command.level, "level") ?? Name(command.action, "action") ?? Text(command.source, "source") ?? Text(command.target, "target")
            ?? List(command.reasons, "reasons", r => Text(r, "a reason"))
            ?? OptionalId(command.group, "group") ?? OptionalId(command.keyId, "keyId")
            ?? (command.signature is { } s && s.Length > MaxSignatureBytes ? $"signature has {s.Length} bytes, more than {MaxSignatureBytes}" : null)
            ?? Time(command.issuedAtNs, "issuedAtNs", nowNs, past: true);
    }

    /// <summary>Null when <paramref name="result"/> is within bounds at <paramref name="nowNs"/>, else why not.</summary>
    public string? Problem(IsolationResult result, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(result);
        return Id(result.commandId, "commandId") ?? Entity(result.entity, "entity") ?? Name(result.level, "level")
            ?? Name(result.status, "status") ?? OptionalText(result.error, "error") ?? Id(result.actuator, "actuator")
            ?? OptionalText(result.cpus, "cpus")
            ?? Map(result.phases, "phases", v => v < 0 ? "a negative duration" : null)
            ?? Time(result.finishedAtNs, "finishedAtNs", nowNs, past: true);
    }

    /// <summary>
    /// Null when <paramref name="slot"/> (a ledger record) is within bounds, else why not. The ledger is state rebuilt
    /// from the start of its topic, so old records are normal: only a timestamp ahead of now is refused.
    /// </summary>
    public string? Problem(SlotRecord slot, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(slot);
        if (slot.members is { } members && members.Count > MaxSlotMembers)
        {
            return $"members has {members.Count} entries, more than {MaxSlotMembers}";
        }
        return Id(slot.slot, "slot") ?? Id(slot.actuator, "actuator") ?? Name(slot.level, "level") ?? OptionalText(slot.cpus, "cpus")
            ?? OptionalId(slot.group, "group") ?? Name(slot.@event, "event") ?? Text(slot.reason, "reason") ?? Id(slot.writer, "writer")
            ?? slot.members?.Select(Member).FirstOrDefault(p => p is not null)
            ?? Time(slot.updatedAtNs, "updatedAtNs", nowNs, past: false);
    }

    private string? Member(SlotMember m) =>
        Id(m.entityId, "member entityId") ?? Entity(m.entity, "member entity") ?? OptionalId(m.detectionId, "member detectionId")
        ?? OptionalName(m.rule, "member rule") ?? Name(m.scope, "member scope") ?? Name(m.status, "member status")
        ?? OptionalId(m.commandId, "member commandId") ?? Text(m.source, "member source") ?? Text(m.target, "member target");
}
