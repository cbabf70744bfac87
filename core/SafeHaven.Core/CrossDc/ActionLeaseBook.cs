using SafeHaven.Schemas;

namespace SafeHaven.Core.CrossDc;

/// <summary>What one record of the action-lease log did (<see cref="ActionLeaseBook.Apply"/>).</summary>
public enum LeaseVerdict
{
    /// <summary>The writer now holds the lease (no live lease of another holder when it was written).</summary>
    Won,

    /// <summary>Another holder's lease was live at the record's time: the record changes nothing.</summary>
    Lost,

    /// <summary>The holder's release record (or a tombstone of a key with no lease): the entity has no lease.</summary>
    Released,

    /// <summary>
    /// Malformed (expiry not after acquisition, longer than the maximum, a key other than its entity, a datacenter other
    /// than the entity's), a release by anyone but the holder, or a tombstone over a live lease: ignored.
    /// </summary>
    Invalid,

    /// <summary>
    /// Fenced: the record's epoch is not above the epoch of every lease that won on the entity before it (a replayed or
    /// delayed record, a writer that had not read the log), or jumps further than <see cref="ActionLeaseBook.MaxEpochStep"/>
    /// ahead: ignored.
    /// </summary>
    Stale,
}

/// <summary>
/// The action leases of one cluster, folded from its <c>action-leases</c> log in offset order (docs/SCALING.md §4). The
/// fold uses only the records' own times, so every reader of the log agrees on who won each record; only "live now"
/// depends on the reader's clock, and each side errs towards safety by <see cref="Skew"/>: other datacenters count a
/// lease live until its expiry plus the skew, its holder counts it held only until its expiry minus the skew.
/// The epoch is the fencing token: every lease that wins has an epoch above every epoch that won before it, so whatever
/// acts under a lease (the target planner's reservations, the commands) can refuse a request naming an older epoch.
/// </summary>
public sealed class ActionLeaseBook(TimeProvider time)
{
    private readonly Dictionary<string, ActionLease> _live = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _epochs = new(StringComparer.Ordinal);

    /// <summary>Clock difference allowed between datacenters (default 2 s).</summary>
    public TimeSpan Skew { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Longest lease accepted (default 10 min); the topic's <c>min.compaction.lag.ms</c> must be at least this.</summary>
    public TimeSpan MaxLease { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Largest step a new epoch may take over the last winning one (default 2^20): a trusted but faulty writer cannot
    /// fence every later lease out by writing an epoch near <see cref="long.MaxValue"/>.
    /// </summary>
    public long MaxEpochStep { get; init; } = 1 << 20;

    /// <summary>
    /// Applies the next record of <paramref name="entityId"/> in log order. A lease is given up by its holder's release
    /// record (<c>released</c>, same holder and epoch); a tombstone only clears a key that holds no lease (compaction
    /// cleanup): a tombstone names no writer, so it cannot take anyone's live lease away.
    /// </summary>
    public LeaseVerdict Apply(string entityId, ActionLease? record)
    {
        ArgumentNullException.ThrowIfNull(entityId);
        _live.TryGetValue(entityId, out var current);
        if (record is null)
        {
            return current is null ? LeaseVerdict.Released : LeaseVerdict.Invalid;
        }
        if (Malformed(entityId, record))
        {
            return LeaseVerdict.Invalid;
        }
        if (record.released)
        {
            if (current is null || !SameHolder(current, record) || current.epoch != record.epoch)
            {
                return LeaseVerdict.Invalid;
            }
            _live.Remove(entityId);
            return LeaseVerdict.Released;
        }
        var fence = _epochs.GetValueOrDefault(entityId);
        if (record.epoch <= fence || record.epoch - fence > MaxEpochStep)
        {
            return LeaseVerdict.Stale;
        }
        if (current is not null && !SameHolder(current, record) && record.acquiredAtNs < current.expiresAtNs)
        {
            return LeaseVerdict.Lost;
        }
        // Only a winning record moves the fence: a lost one must not fence the holder's later renewals out.
        _epochs[entityId] = record.epoch;
        _live[entityId] = record;
        return LeaseVerdict.Won;
    }

    // Only the datacenter an entity lives in (the first part of its id) may lease it: a trusted planner of another
    // datacenter cannot block or take its moves.
    private bool Malformed(string entityId, ActionLease record) =>
        // Instants within (0, 2^62): their differences and the skew added to them cannot wrap around.
        record.entityId != entityId || record.acquiredAtNs <= 0 || record.expiresAtNs >= 1L << 62 || record.expiresAtNs <= record.acquiredAtNs
        || record.expiresAtNs - record.acquiredAtNs > (long)MaxLease.TotalNanoseconds
        || !entityId.StartsWith(record.datacenter + "/", StringComparison.Ordinal) || record.datacenter.Length == 0;

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

    /// <summary>The epoch of the last lease that won on <paramref name="entityId"/> (0: none): the fence a request must pass.</summary>
    public long Fence(string entityId) => _epochs.GetValueOrDefault(entityId);

    /// <summary>An epoch above every epoch that won on <paramref name="entityId"/>.</summary>
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

    /// <summary>The record by which the holder of <paramref name="lease"/> gives it up (written in place of a tombstone).</summary>
    public static ActionLease ReleaseOf(ActionLease lease, string reason)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return new ActionLease
        {
            entityId = lease.entityId, datacenter = lease.datacenter, cluster = lease.cluster, planner = lease.planner, epoch = lease.epoch,
            acquiredAtNs = lease.acquiredAtNs, expiresAtNs = lease.expiresAtNs, reason = reason, released = true,
        };
    }

    private long Now() => time.NowNs();

    private static bool SameHolder(ActionLease a, ActionLease b) => a.datacenter == b.datacenter && a.planner == b.planner;
}
