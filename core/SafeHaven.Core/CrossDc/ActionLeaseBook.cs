using SafeHaven.Schemas;

namespace SafeHaven.Core.CrossDc;

/// <summary>What one record of the action-lease log did (<see cref="ActionLeaseBook.Apply"/>).</summary>
public enum LeaseVerdict
{
    /// <summary>The writer now holds the lease (no live lease of another holder when it was written).</summary>
    Won,

    /// <summary>Another holder's lease was live at the record's time: the record changes nothing.</summary>
    Lost,

    /// <summary>A tombstone: the entity has no lease.</summary>
    Released,

    /// <summary>A malformed lease (expiry not after acquisition, longer than the maximum, a key other than its entity): ignored.</summary>
    Invalid,
}

/// <summary>
/// The action leases of one cluster, folded from its <c>action-leases</c> log in offset order (docs/SCALING.md §4). The
/// fold uses only the records' own times, so every reader of the log agrees on who won each record; only "live now"
/// depends on the reader's clock, and each side errs towards safety by <see cref="Skew"/>: other datacenters count a
/// lease live until its expiry plus the skew, its holder counts it held only until its expiry minus the skew.
/// </summary>
public sealed class ActionLeaseBook(TimeProvider time)
{
    private readonly Dictionary<string, ActionLease> _live = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _epochs = new(StringComparer.Ordinal);

    /// <summary>Clock difference allowed between datacenters (default 2 s).</summary>
    public TimeSpan Skew { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Longest lease accepted (default 10 min); the topic's <c>min.compaction.lag.ms</c> must be at least this.</summary>
    public TimeSpan MaxLease { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Applies the next record of <paramref name="entityId"/> in log order; null is a tombstone.</summary>
    public LeaseVerdict Apply(string entityId, ActionLease? record)
    {
        ArgumentNullException.ThrowIfNull(entityId);
        if (record is null)
        {
            _live.Remove(entityId);
            return LeaseVerdict.Released;
        }
        if (record.entityId != entityId || record.expiresAtNs <= record.acquiredAtNs
            || record.expiresAtNs - record.acquiredAtNs > (long)MaxLease.TotalNanoseconds)
        {
            return LeaseVerdict.Invalid;
        }
        _epochs[entityId] = Math.Max(record.epoch, _epochs.GetValueOrDefault(entityId));
        if (_live.TryGetValue(entityId, out var current) && !SameHolder(current, record) && record.acquiredAtNs < current.expiresAtNs)
        {
            return LeaseVerdict.Lost;
        }
        _live[entityId] = record;
        return LeaseVerdict.Won;
    }

    /// <summary>The lease on <paramref name="entityId"/> that others must respect now (expiry plus <see cref="Skew"/>), or null.</summary>
    public ActionLease? Live(string entityId) =>
        _live.TryGetValue(entityId, out var l) && Now() < l.expiresAtNs + (long)Skew.TotalNanoseconds ? l : null;

    /// <summary>
    /// Null when <paramref name="datacenter"/> may act on <paramref name="entityId"/> now; otherwise why not (another
    /// datacenter's live lease). A planner asks this before every action on the entity.
    /// </summary>
    public string? Refusal(string entityId, string datacenter) =>
        Live(entityId) is { } l && l.datacenter != datacenter
            ? $"entity {entityId} is under the action lease of datacenter {l.datacenter} (planner {l.planner}, epoch {l.epoch}) until {l.expiresAtNs} ns"
            : null;

    /// <summary>True while the given holder's lease of <paramref name="epoch"/> is the entity's lease, with at least <paramref name="margin"/> left before its expiry minus <see cref="Skew"/>.</summary>
    public bool Holds(string entityId, string datacenter, string planner, long epoch, TimeSpan margin = default) =>
        _live.TryGetValue(entityId, out var l) && l.datacenter == datacenter && l.planner == planner && l.epoch == epoch
        && Now() + (long)margin.TotalNanoseconds < HeldUntilNs(l);

    /// <summary>The last instant (ns) the holder of <paramref name="lease"/> may act under it: commands sent under it get deadlines no later.</summary>
    public long HeldUntilNs(ActionLease lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return lease.expiresAtNs - (long)Skew.TotalNanoseconds;
    }

    /// <summary>An epoch above every epoch seen for <paramref name="entityId"/>.</summary>
    public long NextEpoch(string entityId) => _epochs.GetValueOrDefault(entityId) + 1;

    /// <summary>A lease record for <paramref name="entityId"/> written now, lasting <paramref name="length"/>.</summary>
    public ActionLease NewLease(string entityId, string datacenter, string cluster, string planner, TimeSpan length, string reason)
    {
        if (length <= TimeSpan.Zero || length > MaxLease)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"a lease lasts more than 0 and at most {MaxLease}");
        }
        var now = Now();
        return new ActionLease
        {
            entityId = entityId, datacenter = datacenter, cluster = cluster, planner = planner, epoch = NextEpoch(entityId),
            acquiredAtNs = now, expiresAtNs = now + (long)length.TotalNanoseconds, reason = reason,
        };
    }

    private long Now() => (time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;

    private static bool SameHolder(ActionLease a, ActionLease b) => a.datacenter == b.datacenter && a.planner == b.planner;
}
