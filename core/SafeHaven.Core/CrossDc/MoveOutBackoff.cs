namespace SafeHaven.Core.CrossDc;

/// <summary>
/// When a detection parked for want of room may try to leave its datacenter (again), docs/SCALING.md §4: at most one
/// attempt in flight per entity and <see cref="MaxInFlight"/> in all, and after an attempt that did not move it (refused
/// by every peer, failed, timed out) none before a backoff that doubles from <see cref="First"/> up to <see cref="Max"/>.
/// An attempt that timed out after its commands went out is also <b>held</b>: no next attempt before its commands can no
/// longer run (<see cref="SettledAtNs"/>) nor while its results are still watched, so two moves of one workload are
/// never in flight; a late outcome ends the hold (<see cref="Late"/>). So a retry (a slot freed, an inventory change, the
/// planner's once-a-second pass) tries the peers again without a storm of leases and reservations, and never beside a
/// move that may still land. Pure (the caller's clock); single-threaded (the planner's thread).
/// </summary>
public sealed class MoveOutBackoff(TimeProvider time)
{
    private readonly Dictionary<string, After> _after = new(StringComparer.Ordinal);
    private readonly HashSet<string> _inFlight = new(StringComparer.Ordinal);

    /// <summary>The wait after a first attempt that did not move the entity (default 10 s).</summary>
    public TimeSpan First { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest wait between two attempts for one entity (default 5 min).</summary>
    public TimeSpan Max { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Attempts in flight at once, all entities together (default 4).</summary>
    public int MaxInFlight { get; init; } = 4;

    /// <summary>Attempts in flight.</summary>
    public int InFlight => _inFlight.Count;

    /// <summary>
    /// The instant (Unix ns) after which no command of an attempt can run any more: the latest of its commands'
    /// deadlines (an agent refuses a command past its deadline, by its own clock: <c>CommandGate.Admit</c>), plus
    /// <paramref name="skew"/> (that clock may be behind the planner's), plus <paramref name="grace"/> (how long a
    /// result may still take after its command's deadline, the planner's expiry grace).
    /// </summary>
    public static long SettledAtNs(IEnumerable<long> deadlinesNs, TimeSpan skew, TimeSpan grace)
    {
        ArgumentNullException.ThrowIfNull(deadlinesNs);
        ArgumentOutOfRangeException.ThrowIfLessThan(skew, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(grace, TimeSpan.Zero);
        return deadlinesNs.Max() + (skew + grace).Ticks * 100;
    }

    /// <summary>True, and the attempt counted in flight, when <paramref name="entityId"/> may try now.</summary>
    public bool TryStart(string entityId)
    {
        ArgumentNullException.ThrowIfNull(entityId);
        if (_inFlight.Count >= MaxInFlight || _inFlight.Contains(entityId)
            || (_after.TryGetValue(entityId, out var after) && (time.NowNs() < after.NotBeforeNs || IsHeld(after))))
        {
            return false;
        }
        _inFlight.Add(entityId);
        return true;
    }

    /// <summary>
    /// True when <paramref name="entityId"/> would be past its backoff but its last attempt is held (a timed-out attempt
    /// whose commands may still run, or whose results are still watched).
    /// </summary>
    public bool Held(string entityId)
    {
        ArgumentNullException.ThrowIfNull(entityId);
        return _after.TryGetValue(entityId, out var after) && time.NowNs() >= after.NotBeforeNs && IsHeld(after);
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
        _after[entityId] = new After(time.NowNs() + wait.Ticks * 100, failures, 0, Watching: false);
        return wait;
    }

    /// <summary>
    /// The attempt timed out after its commands went out: it did not move the entity as far as is known (the backoff of
    /// <see cref="Ended"/>, returned), and it is held until <paramref name="settledAtNs"/> (<see cref="SettledAtNs"/>)
    /// has passed and its late outcome is reported (<see cref="Late"/>, also when none came).
    /// </summary>
    public TimeSpan TimedOut(string entityId, long settledAtNs)
    {
        var wait = Ended(entityId, moved: false)!.Value;
        _after[entityId] = _after[entityId] with { HeldUntilNs = settledAtNs, Watching = true };
        return wait;
    }

    /// <summary>
    /// The late outcome of a held attempt. Moved (both agents succeeded after all): the entity is forgotten. Not moved
    /// (an agent failed or rejected its command): the hold ends, and the next attempt waits for the backoff only. Null
    /// (nothing came before the attempt settled): the watch ends; the hold lasts until the settle instant.
    /// </summary>
    public void Late(string entityId, bool? moved)
    {
        ArgumentNullException.ThrowIfNull(entityId);
        if (moved == true)
        {
            _after.Remove(entityId);
        }
        else if (_after.TryGetValue(entityId, out var after))
        {
            _after[entityId] = moved == false ? after with { HeldUntilNs = 0, Watching = false } : after with { Watching = false };
        }
    }

    /// <summary>
    /// Forgets the entities that no longer wait (placed at home, exited), so the table stays as small as the waiting list;
    /// a held attempt is kept until it settles, so that a new detection of its entity cannot start a second move meanwhile.
    /// </summary>
    public void Keep(Func<string, bool> waits)
    {
        ArgumentNullException.ThrowIfNull(waits);
        foreach (var id in _after.Where(a => !waits(a.Key) && !_inFlight.Contains(a.Key) && !IsHeld(a.Value)).Select(a => a.Key).ToList())
        {
            _after.Remove(id);
        }
    }

    private bool IsHeld(After after) => after.Watching || time.NowNs() < after.HeldUntilNs;

    private readonly record struct After(long NotBeforeNs, int Failures, long HeldUntilNs, bool Watching);
}
