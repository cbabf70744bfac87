using SafeHaven.Core.Placement;

namespace SafeHaven.StreamProcessors.MovingTarget;

/// <summary>
/// When each scheduled entity moves next: every period plus a jitter drawn from the injected random source, on the
/// injected clock. Pure apart from those two; not thread-safe (the active planner's one thread asks it).
/// </summary>
public sealed class MovingTargetClock
{
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly List<(MovingTargetSchedule Schedule, MovingTargetMove Move)> _entries = [];
    private readonly DateTimeOffset[] _due;

    /// <summary>Starts every entity's first period now.</summary>
    /// <param name="options">Validated here.</param>
    /// <param name="time">The clock (a FakeTimeProvider in tests).</param>
    /// <param name="random">The jitter's source (seeded in tests).</param>
    public MovingTargetClock(MovingTargetOptions options, TimeProvider time, Random random)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _time = time;
        _random = random;
        foreach (var s in options.Schedules)
        {
            foreach (var e in s.Entities)
            {
                _entries.Add((s, new MovingTargetMove(s.EffectiveName, s.Level, e.Ref(options.Datacenter), [.. s.AllowedTargets])));
            }
        }
        var now = time.GetUtcNow();
        _due = [.. _entries.Select(x => now + Wait(x.Schedule))];
    }

    /// <summary>How many entities the schedules move.</summary>
    public int Count => _entries.Count;

    /// <summary>The moves due now, each at most once per call; their next turn is drawn afresh from now.</summary>
    public IReadOnlyList<MovingTargetMove> Due()
    {
        var now = _time.GetUtcNow();
        var due = new List<MovingTargetMove>();
        for (var i = 0; i < _entries.Count; i++)
        {
            if (now >= _due[i])
            {
                due.Add(_entries[i].Move);
                // From now, not from the missed due time: a planner that was busy (or a standby that just took over)
                // does not fire a burst of catch-up moves.
                _due[i] = now + Wait(_entries[i].Schedule);
            }
        }
        return due;
    }

    private TimeSpan Wait(MovingTargetSchedule s) =>
        s.Period + (s.Jitter == TimeSpan.Zero ? TimeSpan.Zero : s.Jitter * ((_random.NextDouble() * 2) - 1));
}
