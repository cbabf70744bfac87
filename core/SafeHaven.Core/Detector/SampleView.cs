using System.Runtime.CompilerServices;
using SafeHaven.Core.Rules;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Detector;

/// <summary>
/// One entity's sample as the detector evaluates it, whether it came as a <see cref="CounterSample"/>
/// or as an entry of a <see cref="SampleBatch"/>. Mutable and reusable: a batch decoder refills the
/// same views batch after batch, so the hot path allocates no sample objects and no counter map.
/// </summary>
public sealed class SampleView
{
    private CounterSet _counters = CounterSet.Empty;
    private long[] _values = [];
    private bool[] _present = [];
    private EntityRef? _entity;
    private string? _entityId;
    private EntityKeys? _keys;
    // Whether any count set since the last Reset was negative: the validator scans the counts only then.
    private bool _anyNegative;
    private string? _comm;
    private string? _container;
    private string? _vm;

    /// <summary>Host id of the probe (the record key).</summary>
    public string Host { get; private set; } = "";

    /// <summary>Datacenter of the host.</summary>
    public string Datacenter { get; private set; } = "";

    /// <summary>Host part of the entity id (<see cref="EntityIds.OfHost"/>), validated once per batch.</summary>
    public string HostId { get; private set; } = "";

    /// <summary>Entity's pid, or null.</summary>
    public int? Pid { get; set; }

    /// <summary>Entity's process start time (ticks since boot), or null.</summary>
    public long? StartTime { get; set; }

    // The string setters store only a different reference: a decoder refills a view with the same strings batch after
    // batch, and a store of a reference into a long-lived object costs a GC write barrier.

    /// <summary>Entity's command name, or null.</summary>
    public string? Comm
    {
        get => _comm;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        set
        {
            if (!ReferenceEquals(_comm, value))
            {
                _comm = value;
            }
        }
    }

    /// <summary>Entity's container id, or null.</summary>
    public string? Container
    {
        get => _container;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        set
        {
            if (!ReferenceEquals(_container, value))
            {
                _container = value;
            }
        }
    }

    /// <summary>Entity's VM name, or null.</summary>
    public string? Vm
    {
        get => _vm;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        set
        {
            if (!ReferenceEquals(_vm, value))
            {
                _vm = value;
            }
        }
    }

    /// <summary>End of the window, Unix epoch ns.</summary>
    public long TimestampNs { get; set; }

    /// <summary>Length of the window, ns.</summary>
    public long IntervalNs { get; set; }

    /// <summary>Per-probe sample sequence number.</summary>
    public long Seq { get; set; }

    /// <summary>Counter names (shared by every view of a batch).</summary>
    public IReadOnlyList<string> Counters => _counters;

    /// <summary>The counter names with the rules' positions among them (shared by every view of a batch).</summary>
    public CounterSet CounterSet => _counters;

    /// <summary>A structural problem found while decoding (e.g. values not aligned with the counters); null when none.</summary>
    public string? DecodeProblem { get; set; }

    /// <summary>Sets the host part; <paramref name="hostId"/> must be <see cref="EntityIds.OfHost"/> of the two.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetHost(string datacenter, string host, string hostId)
    {
        (Datacenter, Host, HostId) = (datacenter, host, hostId);
        _entity = null;
        _entityId = null;
        _keys = null;
    }

    /// <summary>
    /// Starts a new entry of a batch for a decoder that then sets every entity field itself (<see cref="Pid"/>,
    /// <see cref="StartTime"/>, <see cref="Comm"/>, <see cref="Container"/>, <see cref="Vm"/>, and <see cref="UseKeys"/> or
    /// <see cref="ForgetKeys"/>): every count absent and <see cref="DecodeProblem"/> cleared as by <see cref="Reset(CounterSet)"/>, but
    /// host, counters and strings are written only when they differ, so a view refilled with the same entity as in the last
    /// batch stores no reference.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Refill(string datacenter, string host, string hostId, CounterSet counters)
    {
        ArgumentNullException.ThrowIfNull(counters);
        if (!ReferenceEquals(HostId, hostId) || !ReferenceEquals(Host, host) || !ReferenceEquals(Datacenter, datacenter))
        {
            (Datacenter, Host, HostId) = (datacenter, host, hostId);
        }
        if (!ReferenceEquals(_counters, counters))
        {
            Follow(counters);
        }
        // A loop, not Array.Clear: a few counters per sample, where the call and its checks cost more than the stores.
        var present = _present;
        for (var i = 0; i < counters.Count && i < present.Length; i++)
        {
            present[i] = false;
        }
        _anyNegative = false;
        DecodeProblem = null;
        _entity = null;
    }

    /// <summary>Starts a new entry over <paramref name="counters"/>: every count absent, entity fields cleared.</summary>
    public void Reset(string[] counters) => Reset(new CounterSet(counters));

    /// <summary>Starts a new entry over <paramref name="counters"/>: every count absent, entity fields cleared.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Reset(CounterSet counters)
    {
        ArgumentNullException.ThrowIfNull(counters);
        Follow(counters);
        Array.Clear(_present, 0, counters.Count);
        _anyNegative = false;
        (Pid, StartTime, Comm, Container, Vm, DecodeProblem, _entity, _entityId, _keys) = (null, null, null, null, null, null, null, null, null);
    }

    private void Follow(CounterSet counters)
    {
        _counters = counters;
        if (_values.Length < counters.Count)
        {
            _values = new long[counters.Count];
            _present = new bool[counters.Count];
        }
    }

    /// <summary>Sets the count of <c>Counters[index]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetCount(int index, long count)
    {
        _values[index] = count;
        _present[index] = true;
        _anyNegative |= count < 0;
    }

    /// <summary>True when a count set since the last reset was negative (it may have been overwritten since).</summary>
    public bool AnyNegativeCount => _anyNegative;

    /// <summary>The count of counter <c>Counters[index]</c>, when present.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGetCount(int index, out long count)
    {
        count = _values[index];
        return _present[index];
    }

    /// <summary>The count of <paramref name="counter"/>, when this sample has it.</summary>
    public bool TryGetCount(string counter, out long count)
    {
        for (var i = 0; i < _counters.Count; i++)
        {
            if (string.Equals(_counters[i], counter, StringComparison.Ordinal))
            {
                return TryGetCount(i, out count);
            }
        }
        count = 0;
        return false;
    }

    /// <summary>The entity id; throws <see cref="ArgumentException"/> when a part is invalid.</summary>
    public string EntityId
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _entityId ?? BuildEntityId();
    }

    private string BuildEntityId() => _entityId = EntityIds.Within(HostId, Pid, Container, Vm);

    /// <summary>
    /// Uses ids cached by the caller for this entity (a decoder keeps one <see cref="EntityKeys"/> per
    /// entity it has seen), so neither the entity id nor the state keys are rebuilt per sample.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void UseKeys(EntityKeys keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        // The id always comes with its keys (Reset, SetHost and ForgetKeys clear both), so the same keys mean the same id.
        if (!ReferenceEquals(_keys, keys))
        {
            (_keys, _entityId) = (keys, keys.EntityId);
        }
    }

    /// <summary>Drops cached ids: the entity id is then built from the fields on first use.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ForgetKeys() => (_keys, _entityId) = (null, null);

    /// <summary>The ids cached for this entity by a decoder, or null.</summary>
    internal EntityKeys? Keys => _keys;

    /// <summary>The state key of this entity and rule <paramref name="index"/> of <paramref name="rules"/>.</summary>
    internal string StateKey(RuleSet rules, int index) =>
        _keys is { } keys ? keys.StateKey(rules, index) : DetectorEngine.StateKey(EntityId, rules.Rules[index].Name);

    /// <summary>The entity as a record (built on first use: only detections and dead letters need it).</summary>
    public EntityRef Entity => _entity ??= new EntityRef
    {
        datacenter = Datacenter, host = Host, vm = Vm, container = Container, pid = Pid, comm = Comm, startTime = StartTime,
    };

    /// <summary>A view of <paramref name="sample"/> (allocates: for single records, not the batch path).</summary>
    /// <exception cref="ArgumentException">Datacenter or host is not a valid id.</exception>
    public static SampleView Of(CounterSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var e = sample.entity;
        var view = new SampleView();
        view.SetHost(e.datacenter, sample.host, EntityIds.OfHost(e.datacenter, e.host));
        var counters = sample.values.Keys.ToArray();
        view.Reset(counters);
        for (var i = 0; i < counters.Length; i++)
        {
            view.SetCount(i, sample.values[counters[i]]);
        }
        (view.Pid, view.StartTime, view.Comm, view.Container, view.Vm) = (e.pid, e.startTime, e.comm, e.container, e.vm);
        (view.TimestampNs, view.IntervalNs, view.Seq) = (sample.timestampNs, sample.intervalNs, sample.seq);
        view._entity = e;
        return view;
    }

    /// <summary>This view as a standalone <see cref="CounterSample"/> (dead letters, JSON, replay).</summary>
    public CounterSample ToCounterSample(long droppedSamples = 0)
    {
        var values = new Dictionary<string, long>(_counters.Count, StringComparer.Ordinal);
        for (var i = 0; i < _counters.Count; i++)
        {
            if (_present[i])
            {
                values[_counters[i]] = _values[i];
            }
        }
        return new CounterSample
        {
            host = Host, entity = Entity, values = values, intervalNs = IntervalNs, timestampNs = TimestampNs, seq = Seq,
            droppedSamples = droppedSamples,
        };
    }
}
