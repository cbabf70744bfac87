using SafeHaven.Core;
using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.StreamProcessors.Planning;

/// <summary>Turns inventory records into what the planner books slots against.</summary>
public static class InventoryView
{
    /// <summary>Entity kind of actuators in <c>EntityState.kind</c>.</summary>

    /// <summary>The actuator an inventory record describes, or null when it is not a valid actuator record.</summary>
    public static ActuatorInfo? Actuator(EntityState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.kind != InventoryKinds.Actuator || state.entity is null ||
            !Identifiers.IsToken(state.entityId.Split('/')[^1]) || !Identifiers.IsToken(state.entity.host))
        {
            return null;
        }
        var pool = CpuList.TryParse(state.isolationPool ?? "", out var p, out _) ? p : CpuList.Empty;
        var levels = state.levels.Where(l => Levels.All.Contains(l)).ToHashSet(StringComparer.Ordinal);
        var id = state.attributes.TryGetValue(InventoryAttributes.ActuatorId, out var a) && Identifiers.IsToken(a) ? a : state.entity.host;
        long? capacity = state.attributes.TryGetValue(InventoryAttributes.Capacity, out var c) &&
            long.TryParse(c, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var mib) ? mib : null;
        var segment = state.attributes.TryGetValue(InventoryAttributes.NetworkSegment, out var n) && Identifiers.IsToken(n) ? n : null;
        // The intermediate levels come with what they hand out; a level announced without it has no slot and is dropped.
        var llcSlots = state.attributes.TryGetValue(InventoryAttributes.LlcSlots, out var ls) &&
            int.TryParse(ls, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n2) && n2 <= 256 ? n2 : 0;
        var nodes = state.attributes.TryGetValue(InventoryAttributes.NumaNodes, out var nn) && InventoryAttributes.ParseNodes(nn, out _) is { } parsed
            ? parsed.Where(x => x.Value.IsSubsetOf(pool)).ToDictionary(x => x.Key, x => x.Value)
            : [];
        if (llcSlots == 0)
        {
            levels.Remove(Levels.Llc);
        }
        if (nodes.Count == 0)
        {
            levels.Remove(Levels.Numa);
        }
        return new ActuatorInfo(id, state.entity.datacenter, state.entity.host, levels, pool, capacity, segment) { LlcSlots = llcSlots, IsolationNodes = nodes };
    }

    /// <summary>
    /// Feeds a workload's inventory record (process, container, vm) into the planner's tenant map;
    /// a tombstone (null state) removes the entity. Returns false for records it does not use.
    /// </summary>
    public static bool Tenancy(string? key, EntityState? state, TenantMap tenants)
    {
        ArgumentNullException.ThrowIfNull(tenants);
        if (state is null)
        {
            if (key is not null)
            {
                tenants.Remove(key);
            }
            return key is not null;
        }
        if (state.kind is not ("process" or "container" or "vm") || state.entity is null ||
            !Identifiers.IsToken(state.entity.datacenter) || !Identifiers.IsToken(state.entity.host))
        {
            return false;
        }
        var tenant = state.tenant is { } t && Identifiers.IsToken(t) ? t : null;
        tenants.Set(state.entityId, state.entity.datacenter, state.entity.host, tenant, state.entity.startTime);
        tenants.SetGroup(state.entityId, state.attributes.TryGetValue(InventoryAttributes.Group, out var g) && Identifiers.IsId(g) ? g : null);
        if (state.attributes.TryGetValue(InventoryAttributes.VmMemoryMiB, out var m) &&
            long.TryParse(m, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var mib))
        {
            tenants.SetVmMemory(state.entityId, mib);
        }
        return true;
    }

    /// <summary>
    /// Null when the key that sealed an inventory record may speak for it: an actuator for its own capability record,
    /// a probe for the entities of its own host (DATACENTER/HOST); else why not.
    /// </summary>
    public static string? SpeaksFor(SafeHaven.Security.KeyIdentity who, string? key, EntityState? state)
    {
        ArgumentNullException.ThrowIfNull(who);
        if (state is not null && state.kind == InventoryKinds.Actuator)
        {
            var id = state.attributes.TryGetValue(InventoryAttributes.ActuatorId, out var a) ? a : state.entity?.host;
            return who.Role == SafeHaven.Security.KeyRoles.Actuator && who.Subject == id
                ? null
                : $"capability record of actuator '{Identifiers.Printable(id)}' sealed by {who.Role} key {who.KeyId} of '{who.Subject}'";
        }
        // A process, container or VM record, or a tombstone: keyed DATACENTER/HOST/...
        var host = state?.entity is { } e ? $"{e.datacenter}/{e.host}" : string.Join('/', (key ?? "").Split('/').Take(2));
        // The host's own record is keyed DATACENTER/HOST; its entities' records DATACENTER/HOST/....
        if (who.Role == SafeHaven.Security.KeyRoles.Probe && who.Subject == host
            && (key is null || key == host || key.StartsWith(host + "/", StringComparison.Ordinal)))
        {
            return null;
        }
        // An actuator may remove its own capability record (tombstone keyed .../actuator/ID).
        if (state is null && who.Role == SafeHaven.Security.KeyRoles.Actuator && key?.EndsWith(EntityIds.ActuatorInfix + who.Subject, StringComparison.Ordinal) == true)
        {
            return null;
        }
        return $"inventory record '{Identifiers.Printable(key)}' of host '{Identifiers.Printable(host)}' sealed by {who.Role} key {who.KeyId} of '{who.Subject}'";
    }
}
