using Microsoft.Extensions.Time.Testing;
using SafeHaven.Core.CrossDc;

namespace SafeHaven.Core.Tests.CrossDc;

/// <summary>How often a parked detection tries to leave its datacenter again: one attempt per entity, bounded in all, backing off.</summary>
public sealed class MoveOutBackoffTests
{
    [Fact]
    public void One_attempt_per_entity_then_a_doubling_backoff_after_each_that_did_not_move_it()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 8, 0, 0, TimeSpan.Zero));
        var backoff = new MoveOutBackoff(time) { First = TimeSpan.FromSeconds(10), Max = TimeSpan.FromSeconds(35) };
        const string Vm = "dc1/h1/vm/v1";

        Assert.True(backoff.TryStart(Vm));
        Assert.False(backoff.TryStart(Vm)); // in flight: every retry trigger meanwhile starts nothing
        Assert.Equal(TimeSpan.FromSeconds(10), backoff.Ended(Vm, moved: false));
        var waits = new List<TimeSpan>();
        for (var attempt = 0; attempt < 4; attempt++)
        {
            // A retry every second (the planner's pass) until the backoff allows the next attempt.
            var waited = TimeSpan.Zero;
            while (!backoff.TryStart(Vm))
            {
                time.Advance(TimeSpan.FromSeconds(1));
                waited += TimeSpan.FromSeconds(1);
            }
            waits.Add(waited);
            backoff.Ended(Vm, moved: false);
        }
        Assert.Equal([10, 20, 35, 35], waits.Select(w => (int)w.TotalSeconds));

        // Moved at last: forgotten, so a later detection of it tries at once.
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.True(backoff.TryStart(Vm));
        Assert.Null(backoff.Ended(Vm, moved: true));
        Assert.True(backoff.TryStart(Vm));
    }

    [Fact]
    public void Attempts_in_flight_are_bounded_in_all_and_entities_no_longer_waiting_are_forgotten()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 8, 0, 0, TimeSpan.Zero));
        var backoff = new MoveOutBackoff(time) { MaxInFlight = 2 };
        Assert.True(backoff.TryStart("a"));
        Assert.True(backoff.TryStart("b"));
        Assert.False(backoff.TryStart("c"));
        Assert.Equal(2, backoff.InFlight);
        backoff.Ended("a", moved: false);
        Assert.True(backoff.TryStart("c"));
        Assert.False(backoff.TryStart("a")); // backing off

        // "a" no longer waits (placed at home): forgotten, so a new detection of it tries at once.
        backoff.Keep(id => id != "a");
        Assert.False(backoff.TryStart("a")); // two in flight (b, c)
        backoff.Ended("b", moved: true);
        Assert.True(backoff.TryStart("a"));
    }
}
