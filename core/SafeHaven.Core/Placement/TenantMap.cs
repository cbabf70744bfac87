namespace SafeHaven.Core.Placement;

/// <summary>
/// Which tenants run where, from the inventory's entity records. A host is fit for a suspect at
/// the machine, vm or hypervisor scope only when no entity of another tenant runs there.
/// Entities without a tenant label are the host's own infrastructure and do not count.
/// </summary>
public sealed class TenantMap
{
    private readonly Dictionary<string, (string HostKey, string? Tenant)> _entities = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _vmMemory = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _groups = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _startTimes = new(StringComparer.Ordinal);

    /// <summary>Number of entities known.</summary>
    public int Count => _entities.Count;

    /// <summary>Records (or updates) an entity of <paramref name="datacenter"/>/<paramref name="host"/>.</summary>
    /// <param name="entityId">The entity.</param>
    /// <param name="datacenter">Its datacenter.</param>
    /// <param name="host">Its host.</param>
    /// <param name="tenant">Its tenant label, or null.</param>
    /// <param name="startTime">For a process, its start time as the probe read it; a detection must name the same one.</param>
    public void Set(string entityId, string datacenter, string host, string? tenant, long? startTime = null)
    {
        _entities[entityId] = (HostKey(datacenter, host), tenant);
        if (startTime is { } t)
        {
            _startTimes[entityId] = t;
        }
        else
        {
            _startTimes.Remove(entityId);
        }
    }

    /// <summary>The start time the inventory gives for a process entity, or null.</summary>
    public long? StartTimeOf(string entityId) => _startTimes.TryGetValue(entityId, out var t) ? t : null;

    /// <summary>True once an inventory record of the entity has arrived (and no tombstone since).</summary>
    public bool Knows(string entityId) => _entities.ContainsKey(entityId);

    /// <summary>Forgets an entity (its tombstone arrived).</summary>
    public void Remove(string entityId)
    {
        _entities.Remove(entityId);
        _vmMemory.Remove(entityId);
        _groups.Remove(entityId);
        _startTimes.Remove(entityId);
    }

    /// <summary>Records the suspect group the probe reported for an entity (e.g. its process group), or forgets it when null.</summary>
    public void SetGroup(string entityId, string? group)
    {
        if (group is null)
        {
            _groups.Remove(entityId);
        }
        else
        {
            _groups[entityId] = group;
        }
    }

    /// <summary>The group the probe reported for an entity, or null.</summary>
    public string? GroupOf(string entityId) => _groups.GetValueOrDefault(entityId);

    /// <summary>Records the RAM of a VM entity, which a target hypervisor must have free.</summary>
    public void SetVmMemory(string entityId, long mib) => _vmMemory[entityId] = mib;

    /// <summary>RAM of a VM entity in MiB, or null when unknown.</summary>
    public long? VmMemoryOf(string entityId) => _vmMemory.TryGetValue(entityId, out var m) ? m : null;

    /// <summary>The tenant of an entity, or null when unknown or unlabelled.</summary>
    public string? TenantOf(string entityId) => _entities.TryGetValue(entityId, out var e) ? e.Tenant : null;

    /// <summary>
    /// Tenants other than <paramref name="tenant"/> with an entity on the host (sorted). With an
    /// unlabelled suspect every labelled tenant is "other".
    /// </summary>
    public IReadOnlyList<string> OtherTenants(string datacenter, string host, string? tenant)
    {
        var key = HostKey(datacenter, host);
        return [.. _entities.Values
            .Where(e => e.HostKey == key && e.Tenant is not null && e.Tenant != tenant)
            .Select(e => e.Tenant!)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)];
    }

    private static string HostKey(string datacenter, string host) => datacenter + "/" + host;
}
