using SafeHaven.Schemas;

namespace SafeHaven.Core.Placement;

/// <summary>
/// The suspect group of an entity: its container, its VM, its tenant, or the process group the probe reported; alone
/// otherwise. Members of one group may share a slot; other groups never do. The planner places by it, and utilisation
/// reports count what static isolation would give each group.
/// </summary>
public static class SuspectGroups
{
    /// <summary>The group of <paramref name="e"/> (id <paramref name="entityId"/>).</summary>
    /// <param name="e">The entity.</param>
    /// <param name="entityId">Its id.</param>
    /// <param name="tenant">Its tenant from the inventory, or null.</param>
    /// <param name="probeGroup">The group the probe reported (e.g. <c>pgid:N</c>), or null.</param>
    public static string Of(EntityRef e, string entityId, string? tenant, string? probeGroup)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (e.container is not null)
        {
            return $"container:{e.datacenter}/{e.host}/{e.container}";
        }
        if (e.vm is not null)
        {
            return $"vm:{e.datacenter}/{e.host}/{e.vm}";
        }
        if (tenant is not null)
        {
            return "tenant:" + tenant;
        }
        return probeGroup is not null ? $"{probeGroup}@{e.datacenter}/{e.host}" : entityId;
    }
}
