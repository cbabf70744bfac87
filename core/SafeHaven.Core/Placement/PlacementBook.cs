using SafeHaven.Schemas;

namespace SafeHaven.Core.Placement;

/// <summary>What the planner knows of one actuator: where it runs and what it can do.</summary>
/// <param name="ActuatorId">Actuator id (commands are keyed by it).</param>
/// <param name="Datacenter">Its datacenter.</param>
/// <param name="Host">Host (or hypervisor) it runs on.</param>
/// <param name="Levels">Isolation levels it executes.</param>
/// <param name="IsolationPool">Core level: CPUs reserved for isolated entities.</param>
/// <param name="CapacityMiB">VM level: memory free for incoming guests, when the agent reports it.</param>
/// <param name="Segment">The network segment (rack or subnet label) of the actuator's host, when configured.</param>
public sealed record ActuatorInfo(string ActuatorId, string Datacenter, string Host, IReadOnlySet<string> Levels, CpuList IsolationPool,
    long? CapacityMiB = null, string? Segment = null)
{
    /// <summary>LLC level: how many resctrl groups with cache ways of their own the agent hands out (0: none).</summary>
    public int LlcSlots { get; init; }

    /// <summary>NUMA level: the nodes the agent hands out whole, each with its CPUs (all inside the isolation pool).</summary>
    public IReadOnlyDictionary<int, CpuList> IsolationNodes { get; init; } = new Dictionary<int, CpuList>();
}

/// <summary>A slot chosen for an entity; nothing is booked until <see cref="PlacementBook.Add"/>.</summary>
/// <param name="Slot">Ledger key of the slot.</param>
/// <param name="Actuator">Actuator owning the slot.</param>
/// <param name="Level">Level of the slot.</param>
/// <param name="Cpus">Core level: the CPUs of the slot.</param>
/// <param name="Group">Suspect group the slot is (or will be) held by.</param>
/// <param name="Fresh">True when the slot is free and the group takes it; false when the group already holds it.</param>
public sealed record Reservation(string Slot, string Actuator, string Level, CpuList Cpus, string Group, bool Fresh);

/// <summary>
/// The isolation ledger: every slot (an exclusive CPU of a host's pool, or a whole host or hypervisor) with the
/// suspect group holding it and the group's members, each with its outstanding command. A slot is held by at
/// most one group; members of one group share it. Every change returns the slot's whole new state as a
/// <see cref="SlotRecord"/> record, which the planner writes to the compacted ledger topic before any command
/// goes out; <see cref="Apply"/> replays those records, so a planner rebuilds this state from the topic.
/// Not thread-safe: the planner owns it from one thread.
/// </summary>
public sealed partial class PlacementBook
{
    private readonly Dictionary<string, ActuatorInfo> _actuators = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SlotRecord> _slots = new(StringComparer.Ordinal);
    // "wait:ENTITY" -> the detection of that entity waiting for a slot; it holds no capacity.
    private readonly Dictionary<string, SlotRecord> _waiting = new(StringComparer.Ordinal);

    /// <summary>Key prefix of the ledger records of detections waiting for a slot.</summary>
    public const string WaitPrefix = "wait:";

    /// <summary>Creates an empty book; <paramref name="writer"/> names this planner in the records it writes.</summary>
    public PlacementBook(string writer = "planner") => Writer = writer;

    /// <summary>Id of the planner instance stamped on the records.</summary>
    public string Writer { get; }

    /// <summary>Tenants per host, from the inventory.</summary>
    public TenantMap Tenants { get; } = new();

    /// <summary>Known actuators.</summary>
    public IReadOnlyCollection<ActuatorInfo> Actuators => _actuators.Values;

    /// <summary>Slots held by a group, in no particular order.</summary>
    public IEnumerable<SlotRecord> Held => _slots.Values;

    /// <summary>Number of slots held.</summary>
    public int HeldCount => _slots.Count;

    /// <summary>Detections waiting for a slot, oldest first.</summary>
    public IReadOnlyList<SlotRecord> Waiting => [.. _waiting.Values.OrderBy(w => w.updatedAtNs).ThenBy(w => w.slot, StringComparer.Ordinal)];

    /// <summary>The waiting record of an entity, or null.</summary>
    public SlotRecord? WaitingOf(string entityId) => _waiting.GetValueOrDefault(WaitPrefix + entityId);

    /// <summary>Records that <paramref name="member"/>'s detection waits for a slot; returns the record to persist.</summary>
    public SlotRecord Wait(SlotMember member, string group, string reason, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(member);
        return Put(new SlotRecord
        {
            slot = WaitPrefix + member.entityId, actuator = "", level = "", cpus = null, group = group, members = [member],
            @event = LedgerEvents.Wait, reason = reason, writer = Writer, updatedAtNs = nowNs,
        });
    }

    /// <summary>Ends an entity's wait (placed, or gone); null when it was not waiting.</summary>
    public SlotRecord? Unwait(string entityId, string reason, long nowNs) => WaitingOf(entityId) is { } w
        ? Put(Copy(w, [], LedgerEvents.Leave, reason, nowNs))
        : null;

    /// <summary>Adds or updates an actuator (from the inventory).</summary>
    public void Upsert(ActuatorInfo actuator)
    {
        ArgumentNullException.ThrowIfNull(actuator);
        if (_actuators.TryGetValue(actuator.ActuatorId, out var old))
        {
            UnindexActuator(old);
        }
        _actuators[actuator.ActuatorId] = actuator;
        IndexActuator(actuator);
    }

    /// <summary>The actuator with this id, or null.</summary>
    public ActuatorInfo? Find(string actuatorId) => _actuators.GetValueOrDefault(actuatorId);

    /// <summary>The actuator on <paramref name="host"/> offering <paramref name="level"/>, or null.</summary>
    public ActuatorInfo? OnHost(string datacenter, string host, string level)
    {
        if (!_actuatorsOnHost.TryGetValue((datacenter, host), out var onHost))
        {
            return null;
        }
        ActuatorInfo? first = null;
        foreach (var a in onHost)
        {
            if (a.Levels.Contains(level) && (first is null || string.CompareOrdinal(a.ActuatorId, first.ActuatorId) < 0))
            {
                first = a;
            }
        }
        return first;
    }

    /// <summary>
    /// Chooses a CPU of <paramref name="actuator"/>'s pool for an entity of <paramref name="group"/>: the one its
    /// group already holds there, else the lowest free one (deterministic placement). Null when none is free.
    /// </summary>
    public Reservation? ReserveCore(ActuatorInfo actuator, string group)
    {
        ArgumentNullException.ThrowIfNull(actuator);
        Reservation? free = null;
        foreach (var cpu in actuator.IsolationPool.Cpus)
        {
            var slot = CoreSlot(actuator.ActuatorId, cpu);
            // A CPU of a node held whole at the NUMA level is that group's, not a core slot.
            if (NodeHolding(actuator, cpu) is { } nodeGroup && nodeGroup != group)
            {
                continue;
            }
            if (!_slots.TryGetValue(slot, out var held))
            {
                free ??= new Reservation(slot, actuator.ActuatorId, Levels.Core, CpuList.Of([cpu]), group, Fresh: true);
            }
            else if (held.group == group)
            {
                return new Reservation(slot, actuator.ActuatorId, Levels.Core, CpuList.Of([cpu]), group, Fresh: false);
            }
        }
        return free;
    }

    /// <summary>The whole host of <paramref name="actuator"/> for <paramref name="group"/>, or null when another group holds it.</summary>
    public Reservation? ReserveHost(ActuatorInfo actuator, string level, string group)
    {
        ArgumentNullException.ThrowIfNull(actuator);
        // Keyed by host, not actuator: two actuators of one host must not send it two tenants.
        var slot = $"{actuator.Datacenter}/{actuator.Host}#host";
        if (ClaimantOf(slot) is { } claimant && claimant != group)
        {
            return null; // another datacenter's workload runs there too (a late receive): nobody else is placed beside it
        }
        if (_slots.TryGetValue(slot, out var held))
        {
            return held.group == group ? new Reservation(slot, held.actuator, held.level, CpuList.Empty, group, Fresh: false) : null;
        }
        return new Reservation(slot, actuator.ActuatorId, level, CpuList.Empty, group, Fresh: true);
    }

    /// <summary>The group holding a CPU slot of an actuator, or null when free.</summary>
    public string? Holder(string actuatorId, int cpu) => _slots.GetValueOrDefault(CoreSlot(actuatorId, cpu))?.group;

    /// <summary>The slot state of a key, or null when free.</summary>
    public SlotRecord? Slot(string slot) => _slots.GetValueOrDefault(slot);

    /// <summary>Every (slot, member) of an entity, in slot key order.</summary>
    public IEnumerable<(SlotRecord Slot, SlotMember Member)> MembershipsOf(string entityId)
    {
        if (!_slotsOfEntity.TryGetValue(entityId, out var keys))
        {
            return [];
        }
        var found = new List<(SlotRecord, SlotMember)>(keys.Count);
        foreach (var key in keys.Order(StringComparer.Ordinal))
        {
            var slot = _slots[key];
            found.AddRange(slot.members.Where(m => m.entityId == entityId).Select(m => (slot, m)));
        }
        return found;
    }

    /// <summary>The (slot, member) whose outstanding command is <paramref name="commandId"/>, or null.</summary>
    public (SlotRecord Slot, SlotMember Member)? ByCommand(string? commandId)
    {
        if (commandId is null || !_slotOfCommand.TryGetValue(commandId, out var key))
        {
            return null;
        }
        var slot = _slots[key];
        return slot.members.FirstOrDefault(m => m.commandId == commandId) is { } member ? (slot, member) : null;
    }

    /// <summary>True when a member of the ledger was placed by <paramref name="detectionId"/>.</summary>
    public bool HasDetection(string detectionId) => _detections.ContainsKey(detectionId);

    /// <summary>
    /// Books <paramref name="member"/> into the reserved slot; returns the record to persist. Its event is
    /// <paramref name="ledgerEvent"/> when given, else <c>reserve</c> (a free slot) or <c>join</c>.
    /// </summary>
    public SlotRecord Add(Reservation reservation, SlotMember member, string reason, long nowNs, string? ledgerEvent = null)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        ArgumentNullException.ThrowIfNull(member);
        var held = _slots.GetValueOrDefault(reservation.Slot);
        if (held is not null && held.group != reservation.Group)
        {
            throw new InvalidOperationException($"slot {reservation.Slot} is held by group {held.group}, not {reservation.Group}");
        }
        if (held?.members.Any(m => m.entityId == member.entityId) == true)
        {
            throw new InvalidOperationException($"{member.entityId} is already a member of slot {reservation.Slot}");
        }
        List<SlotMember> members = [.. held?.members ?? [], member];
        return Put(new SlotRecord
        {
            slot = reservation.Slot, actuator = reservation.Actuator, level = reservation.Level,
            cpus = reservation.Cpus.IsEmpty ? null : reservation.Cpus.ToString(), group = reservation.Group, members = members,
            @event = ledgerEvent ?? (held is null ? LedgerEvents.Reserve : LedgerEvents.Join), reason = reason, writer = Writer, updatedAtNs = nowNs,
        });
    }

    /// <summary>
    /// Replaces a member of a slot: the same entity, or <paramref name="replacing"/> when its id changed (a VM or
    /// container that moved host); returns the record to persist.
    /// </summary>
    public SlotRecord Update(string slot, SlotMember member, string ledgerEvent, string reason, long nowNs, string? replacing = null)
    {
        ArgumentNullException.ThrowIfNull(member);
        var held = _slots[slot];
        var id = replacing ?? member.entityId;
        return Put(Copy(held, [.. held.members.Select(m => m.entityId == id ? member : m)], ledgerEvent, reason, nowNs));
    }

    /// <summary>Takes an entity out of a slot; the last member out frees it. Returns the record to persist.</summary>
    public SlotRecord Remove(string slot, string entityId, string ledgerEvent, string reason, long nowNs)
    {
        var held = _slots[slot];
        var members = held.members.Where(m => m.entityId != entityId).ToList();
        return Put(members.Count > 0
            ? Copy(held, members, ledgerEvent, reason, nowNs)
            : Copy(held, [], LedgerEvents.Free, $"{ledgerEvent}: {reason}; slot free", nowNs));
    }

    /// <summary>Applies a record read back from the ledger topic (rebuild); the latest record of a slot wins.</summary>
    public void Apply(SlotRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.slot.StartsWith(ReceivePrefix, StringComparison.Ordinal))
        {
            ApplyReceive(record);
            return;
        }
        var table = record.slot.StartsWith(WaitPrefix, StringComparison.Ordinal) ? _waiting : _slots;
        if (table.Remove(record.slot, out var old))
        {
            Unindex(old, held: table == _slots);
        }
        if (record.members.Count > 0 && record.group is not null)
        {
            table[record.slot] = record;
            Index(record, held: table == _slots);
        }
    }

    /// <summary>The slots held, rendered one per line in key order: equal text, equal ledgers.</summary>
    public string Render() => string.Join('\n', _slots.Values.Concat(_waiting.Values).Concat(_receives.Values).OrderBy(s => s.slot, StringComparer.Ordinal).Select(s =>
        $"{s.slot} {s.group} [{string.Join(", ", s.members.OrderBy(m => m.entityId, StringComparer.Ordinal).Select(m => $"{m.entityId}:{m.status}:{m.commandId}:{m.attempts}"))}]"));

    private SlotRecord Put(SlotRecord record)
    {
        Apply(record);
        return record;
    }

    private SlotRecord Copy(SlotRecord p, List<SlotMember> members, string ledgerEvent, string reason, long nowNs) => new()
    {
        slot = p.slot, actuator = p.actuator, level = p.level, cpus = p.cpus, group = members.Count > 0 ? p.group : null,
        members = members, @event = ledgerEvent, reason = reason, writer = Writer, updatedAtNs = nowNs,
    };

    /// <summary>The slot id of one CPU of an actuator's pool: <c>ACTUATOR#cpu:N</c>.</summary>
    public static string CoreSlot(string actuatorId, int cpu) => $"{actuatorId}#cpu:{cpu}";
}
