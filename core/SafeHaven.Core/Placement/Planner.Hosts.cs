using SafeHaven.Schemas;

namespace SafeHaven.Core.Placement;

// Container and VM levels: a whole other host with no other tenant; for the network scope, in another segment too.
public sealed partial class Planner
{
    private (ActuatorInfo?, Reservation?, string?, string) FindHost(EntityRef e, string entityId, string group, string level, string scope)
    {
        var movable = level == Levels.Container ? e.container is not null : e.vm is not null;
        if (!movable)
        {
            return (null, null, null, $"entity is not in a {level}");
        }
        var source = book.OnHost(e.datacenter, e.host, level);
        if (source is null)
        {
            return (null, null, null, $"no {level}-level actuator on host {e.host}");
        }
        // A target host with no other tenant: no entity of another tenant runs there and no other group holds it.
        var tenant = book.Tenants.TenantOf(entityId);
        var network = scope == Scopes.Network ? NetworkScope.Of(book, source, tenant) : null;
        if (network?.Refusal is { } refusal)
        {
            return (null, null, null, refusal);
        }
        var refused = new List<string>();
        foreach (var t in book.Actuators.Where(a => a.Levels.Contains(level) && a.Host != e.host)
                     .OrderBy(a => a.ActuatorId, StringComparer.Ordinal))
        {
            if (network?.Refuses(book, t) is { } why)
            {
                refused.Add(why);
                continue;
            }
            if (book.Tenants.OtherTenants(t.Datacenter, t.Host, tenant) is { Count: > 0 } others)
            {
                refused.Add($"{t.Host} runs tenant {string.Join(", ", others)}");
                continue;
            }
            if (level == Levels.Vm && t.CapacityMiB is { } free && book.Tenants.VmMemoryOf(entityId) is { } needed && free < needed)
            {
                refused.Add($"{t.Host} has {free} MiB free, the VM needs {needed} MiB");
                continue;
            }
            if (book.ReserveHost(t, level, group) is { } hostSlot)
            {
                // Its group holds the host: that may be the entity itself, also under the id an earlier move gave it there
                // (a detection that still names the host it left).
                if (book.Slot(hostSlot.Slot)?.members.Any(m => m.entityId == entityId || (m.entity.host != e.host && SameWorkload(m.entity, e))) == true)
                {
                    refused.Add($"{t.Host} already holds the entity");
                    continue;
                }
                var segment = network is null ? "" : $", in segment {t.Segment}, where no tenant of segment {network.Segment} runs";
                var passed = refused.Count > 0 ? $" (passed over: {string.Join("; ", refused)})" : "";
                return (source, hostSlot, t.ActuatorId, $"{level} moves from {source.Host} to {t.Host}, which has no other tenant{segment}{passed}");
            }
            refused.Add($"{t.Host} is held for another suspect group");
        }
        return (null, null, null, $"no free target host for level {level}{(refused.Count > 0 ? " (" + string.Join("; ", refused) + ")" : "")}");
    }

    // The same VM or container on two hosts: within one suspect group (the caller's case) its name is the group's own.
    private static bool SameWorkload(EntityRef a, EntityRef b) =>
        (a.vm is not null && a.vm == b.vm) || (a.container is not null && a.container == b.container);
}
