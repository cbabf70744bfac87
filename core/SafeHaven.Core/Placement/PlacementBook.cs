namespace SafeHaven.Core.Placement;

/// <summary>What the planner knows of one actuator: where it runs and what it can do.</summary>
/// <param name="ActuatorId">Actuator id (commands are keyed by it).</param>
/// <param name="Datacenter">Its datacenter.</param>
/// <param name="Host">Host (or hypervisor) it runs on.</param>
/// <param name="Levels">Isolation levels it executes.</param>
/// <param name="IsolationPool">Core level: CPUs reserved for isolated entities.</param>
/// <param name="CapacityMiB">VM level: memory free for incoming guests, when the agent reports it.</param>
public sealed record ActuatorInfo(string ActuatorId, string Datacenter, string Host, IReadOnlySet<string> Levels, CpuList IsolationPool,
    long? CapacityMiB = null);

/// <summary>One slot booked for an entity.</summary>
/// <param name="Slot">Ledger key of the slot.</param>
/// <param name="Cpus">Core level: the CPUs of the slot.</param>
/// <param name="Fresh">True when this booking took the slot; false when the entity already held it.</param>
public sealed record Reservation(string Slot, CpuList Cpus, bool Fresh);

/// <summary>
/// The planner's ledger of isolation slots: exclusive CPUs of each host's pool, and whole hosts
/// or hypervisors handed to one suspect. A slot is held by at most one entity at a time, which
/// is what keeps two concurrent detections from being sent to the same place.
/// Not thread-safe: the planner owns it from one thread.
/// </summary>
public sealed class PlacementBook
{
    private readonly Dictionary<string, ActuatorInfo> _actuators = new(StringComparer.Ordinal);
    // slot key ("actuator#cpu:N" or "dc/host#host") -> entity id holding it
    private readonly Dictionary<string, string> _slots = new(StringComparer.Ordinal);
    // slot key -> how many live bookings of its holder use it (one per command not yet failed)
    private readonly Dictionary<string, int> _holds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string>> _byEntity = new(StringComparer.Ordinal);

    /// <summary>Tenants per host, from the inventory.</summary>
    public TenantMap Tenants { get; } = new();

    /// <summary>Known actuators.</summary>
    public IReadOnlyCollection<ActuatorInfo> Actuators => _actuators.Values;

    /// <summary>Adds or updates an actuator (from the inventory).</summary>
    public void Upsert(ActuatorInfo actuator)
    {
        ArgumentNullException.ThrowIfNull(actuator);
        _actuators[actuator.ActuatorId] = actuator;
    }

    /// <summary>The actuator with this id, or null.</summary>
    public ActuatorInfo? Find(string actuatorId) => _actuators.GetValueOrDefault(actuatorId);

    /// <summary>The actuator on <paramref name="host"/> offering <paramref name="level"/>, or null.</summary>
    public ActuatorInfo? OnHost(string datacenter, string host, string level) =>
        _actuators.Values.Where(a => a.Datacenter == datacenter && a.Host == host && a.Levels.Contains(level))
            .OrderBy(a => a.ActuatorId, StringComparer.Ordinal).FirstOrDefault();

    /// <summary>
    /// Reserves one free CPU of <paramref name="actuator"/>'s pool for <paramref name="entityId"/>
    /// (lowest number first, so placement is deterministic). An entity already holding a CPU there
    /// gets the same one back.
    /// </summary>
    public Reservation? ReserveCore(ActuatorInfo actuator, string entityId)
    {
        ArgumentNullException.ThrowIfNull(actuator);
        foreach (var cpu in actuator.IsolationPool.Cpus)
        {
            var slot = $"{actuator.ActuatorId}#cpu:{cpu}";
            if (_slots.TryGetValue(slot, out var holder) && holder == entityId)
            {
                _holds[slot]++;
                return new Reservation(slot, CpuList.Of([cpu]), Fresh: false);
            }
        }
        foreach (var cpu in actuator.IsolationPool.Cpus)
        {
            var slot = $"{actuator.ActuatorId}#cpu:{cpu}";
            if (TryTake(slot, entityId))
            {
                return new Reservation(slot, CpuList.Of([cpu]), Fresh: true);
            }
        }
        return null;
    }

    /// <summary>Reserves the whole host of <paramref name="actuator"/> for <paramref name="entityId"/>.</summary>
    public Reservation? ReserveHost(ActuatorInfo actuator, string entityId)
    {
        ArgumentNullException.ThrowIfNull(actuator);
        // Keyed by host, not actuator: two actuators of one host must not send it two tenants.
        var slot = $"{actuator.Datacenter}/{actuator.Host}#host";
        if (_slots.TryGetValue(slot, out var holder) && holder == entityId)
        {
            _holds[slot]++;
            return new Reservation(slot, CpuList.Empty, Fresh: false);
        }
        return TryTake(slot, entityId) ? new Reservation(slot, CpuList.Empty, Fresh: true) : null;
    }

    /// <summary>
    /// Gives back one booking (its command failed). The slot is freed only when no other booking
    /// of the entity uses it: a slot held by an earlier successful or still pending move stays held.
    /// </summary>
    public void Release(string entityId, Reservation reservation)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        if (!_slots.TryGetValue(reservation.Slot, out var holder) || holder != entityId)
        {
            return;
        }
        if (--_holds[reservation.Slot] > 0)
        {
            return;
        }
        _holds.Remove(reservation.Slot);
        _slots.Remove(reservation.Slot);
        if (_byEntity.TryGetValue(entityId, out var list))
        {
            list.Remove(reservation.Slot);
            if (list.Count == 0)
            {
                _byEntity.Remove(entityId);
            }
        }
    }

    /// <summary>Entity holding a slot, or null when free.</summary>
    public string? Holder(string actuatorId, int cpu) => _slots.GetValueOrDefault($"{actuatorId}#cpu:{cpu}");

    /// <summary>Number of slots held.</summary>
    public int HeldCount => _slots.Count;

    /// <summary>Frees every slot <paramref name="entityId"/> holds.</summary>
    public void Release(string entityId)
    {
        if (_byEntity.Remove(entityId, out var slots))
        {
            foreach (var slot in slots)
            {
                _slots.Remove(slot);
                _holds.Remove(slot);
            }
        }
    }

    private bool TryTake(string slot, string entityId)
    {
        if (!_slots.TryAdd(slot, entityId))
        {
            return false;
        }
        _holds[slot] = 1;
        if (!_byEntity.TryGetValue(entityId, out var list))
        {
            _byEntity[entityId] = list = [];
        }
        list.Add(slot);
        return true;
    }
}
