namespace SafeHaven.Core.CrossDc;

/// <summary>
/// When a detection parked for want of room may try to leave its datacenter (again), docs/SCALING.md §4: at most one
/// attempt in flight per entity and <see cref="MaxInFlight"/> in all, and after an attempt that did not move it (refused
/// by every peer, failed, timed out) none before a backoff that doubles from <see cref="First"/> up to <see cref="Max"/>.
/// So a retry (a slot freed, an inventory change, the planner's once-a-second pass) tries the peers again without a
/// storm of leases and reservations. Pure (the caller's clock); single-threaded (the planner's thread).
/// </summary>
public sealed class MoveOutBackoff(TimeProvider time)
{
    private readonly Dictionary<string, (long NotBeforeNs, int Failures)> _after = new(StringComparer.Ordinal);
    private readonly HashSet<string> _inFlight = new(StringComparer.Ordinal);

    /// <summary>The wait after a first attempt that did not move the entity (default 10 s).</summary>
    public TimeSpan First { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest wait between two attempts for one entity (default 5 min).</summary>
    public TimeSpan Max { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Attempts in flight at once, all entities together (default 4).</summary>
    public int MaxInFlight { get; init; } = 4;

    /// <summary>Attempts in flight.</summary>
    public int InFlight => _inFlight.Count;

    /// <summary>True, and the attempt counted in flight, when <paramref name="entityId"/> may try now.</summary>
    public bool TryStart(string entityId)
    {
        ArgumentNullException.ThrowIfNull(entityId);
        if (_inFlight.Count >= MaxInFlight || _inFlight.Contains(entityId)
            || (_after.TryGetValue(entityId, out var after) && time.NowNs() < after.NotBeforeNs))
        {
            return false;
        }
        _inFlight.Add(entityId);
        return true;
    }

    /// <summary>
    /// The attempt ended. Moved: the entity is forgotten. Not moved: returns how long the next attempt waits
    /// (<see cref="First"/> doubled per attempt that did not move it in a row, at most <see cref="Max"/>).
    /// </summary>
    public TimeSpan? Ended(string entityId, bool moved)
    {
        ArgumentNullException.ThrowIfNull(entityId);
        _inFlight.Remove(entityId);
        if (moved)
        {
            _after.Remove(entityId);
            return null;
        }
        var failures = (_after.TryGetValue(entityId, out var after) ? after.Failures : 0) + 1;
        var wait = TimeSpan.FromTicks(Math.Min(Max.Ticks, First.Ticks << Math.Min(failures - 1, 16)));
        _after[entityId] = (time.NowNs() + wait.Ticks * 100, failures);
        return wait;
    }

    /// <summary>Forgets the entities that no longer wait (placed at home, exited), so the table stays as small as the waiting list.</summary>
    public void Keep(Func<string, bool> waits)
    {
        ArgumentNullException.ThrowIfNull(waits);
        foreach (var id in _after.Keys.Where(id => !waits(id) && !_inFlight.Contains(id)).ToList())
        {
            _after.Remove(id);
        }
    }
}
