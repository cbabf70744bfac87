using SafeHaven.Schemas;

namespace SafeHaven.Probes.Inventory;

/// <summary>One record to write to the compacted inventory topic.</summary>
/// <param name="Key">Entity id.</param>
/// <param name="State">The new state, or null for a tombstone (the entity went away).</param>
public sealed record InventoryChange(string Key, EntityState? State);

/// <summary>
/// What to publish given the previous and the current inventory view (pure): new and changed
/// entities, then tombstones for entities gone. <c>updatedAtNs</c> alone is no change, so an
/// unchanged host produces no traffic.
/// </summary>
public static class InventoryDiff
{
    /// <summary>The changes that turn <paramref name="previous"/> into <paramref name="current"/>, adds/changes first, each group in key order.</summary>
    public static IReadOnlyList<InventoryChange> Compute(IReadOnlyDictionary<string, EntityState> previous,
        IReadOnlyDictionary<string, EntityState> current)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(current);
        var changes = new List<InventoryChange>();
        foreach (var (key, state) in current.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (!previous.TryGetValue(key, out var before) || !SameFacts(before, state))
            {
                changes.Add(new InventoryChange(key, state));
            }
        }
        foreach (string key in previous.Keys.Where(k => !current.ContainsKey(k)).Order(StringComparer.Ordinal))
        {
            changes.Add(new InventoryChange(key, null));
        }
        return changes;
    }

    /// <summary>True when both records state the same facts (everything but <c>updatedAtNs</c>).</summary>
    public static bool SameFacts(EntityState a, EntityState b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return a.entityId == b.entityId && a.kind == b.kind && a.tenant == b.tenant && a.cpus == b.cpus
            && a.isolationPool == b.isolationPool && SameRef(a.entity, b.entity)
            && (a.levels ?? []).SequenceEqual(b.levels ?? [])
            && SameMap(a.counterStatus, b.counterStatus) && SameMap(a.attributes, b.attributes);
    }

    private static bool SameRef(EntityRef? a, EntityRef? b) =>
        a is null || b is null
            ? a is null && b is null
            : a.datacenter == b.datacenter && a.host == b.host && a.vm == b.vm && a.container == b.container
              && a.pid == b.pid && a.comm == b.comm && a.startTime == b.startTime;

    private static bool SameMap(IDictionary<string, string>? a, IDictionary<string, string>? b)
    {
        a ??= new Dictionary<string, string>();
        b ??= new Dictionary<string, string>();
        return a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && v == kv.Value);
    }
}
