using SafeHaven.Core;
using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.StreamProcessors.Planning;

/// <summary>Turns inventory records into what the planner books slots against.</summary>
public static class InventoryView
{
    /// <summary>Entity kind of actuators in <c>EntityState.kind</c>.</summary>
    public const string ActuatorKind = "actuator";

    /// <summary>The actuator an inventory record describes, or null when it is not a valid actuator record.</summary>
    public static ActuatorInfo? Actuator(EntityState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.kind != ActuatorKind || state.entity is null ||
            !Identifiers.IsToken(state.entityId.Split('/')[^1]) || !Identifiers.IsToken(state.entity.host))
        {
            return null;
        }
        var pool = CpuList.TryParse(state.isolationPool ?? "", out var p, out _) ? p : CpuList.Empty;
        var levels = state.levels.Where(l => Levels.All.Contains(l)).ToHashSet(StringComparer.Ordinal);
        var id = state.attributes.TryGetValue("actuatorId", out var a) && Identifiers.IsToken(a) ? a : state.entity.host;
        long? capacity = state.attributes.TryGetValue("capacity", out var c) &&
            long.TryParse(c, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var mib) ? mib : null;
        return new ActuatorInfo(id, state.entity.datacenter, state.entity.host, levels, pool, capacity);
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
        tenants.SetGroup(state.entityId, state.attributes.TryGetValue("group", out var g) && Identifiers.IsId(g) ? g : null);
        if (state.attributes.TryGetValue("vm.memoryMiB", out var m) &&
            long.TryParse(m, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var mib))
        {
            tenants.SetVmMemory(state.entityId, mib);
        }
        return true;
    }
}
