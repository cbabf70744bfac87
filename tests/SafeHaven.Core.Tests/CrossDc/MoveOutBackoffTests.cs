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

    [Fact]
    public void A_timed_out_attempt_is_held_until_its_commands_can_no_longer_run_and_its_watch_ended()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 8, 0, 0, TimeSpan.Zero));
        var backoff = new MoveOutBackoff(time) { First = TimeSpan.FromSeconds(10) };
        const string Vm = "dc1/h1/vm/v1";
        var now = time.NowNs();
        // Commands with deadlines 30 s and 31 s from now; agents' clocks up to 2 s behind; results up to 60 s late.
        var settled = MoveOutBackoff.SettledAtNs([now + 30_000_000_000, now + 31_000_000_000], TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(60));
        Assert.Equal(now + 93_000_000_000, settled);

        Assert.True(backoff.TryStart(Vm));
        time.Advance(TimeSpan.FromSeconds(36)); // the mover gave up on the results 5 s after the deadline
        Assert.Equal(TimeSpan.FromSeconds(10), backoff.TimedOut(Vm, settled));
        Assert.False(backoff.Held(Vm)); // still backing off
        time.Advance(TimeSpan.FromSeconds(11));
        // Past the backoff, yet the first attempt's commands may still run: no second move.
        Assert.True(backoff.Held(Vm));
        Assert.False(backoff.TryStart(Vm));
        // Not even for a new detection of it after the entity stopped waiting (the table keeps a held attempt).
        backoff.Keep(_ => false);
        Assert.False(backoff.TryStart(Vm));

        // Settled (no command can run) but its results are still watched: held until the watch reports.
        time.Advance(TimeSpan.FromSeconds(47));
        Assert.True(time.NowNs() >= settled);
        Assert.False(backoff.TryStart(Vm));
        backoff.Late(Vm, moved: null); // nothing came
        Assert.False(backoff.Held(Vm));
        Assert.True(backoff.TryStart(Vm));
    }

    [Fact]
    public void A_late_success_forgets_the_entity_and_a_late_failure_lets_the_retry_go_at_the_backoff()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 8, 0, 0, TimeSpan.Zero));
        var backoff = new MoveOutBackoff(time) { First = TimeSpan.FromSeconds(10) };
        var far = time.NowNs() + 600_000_000_000;

        // Late success: forgotten, as after any success (a new detection of it tries at once).
        Assert.True(backoff.TryStart("a"));
        backoff.TimedOut("a", far);
        backoff.Late("a", moved: true);
        Assert.False(backoff.Held("a"));
        Assert.True(backoff.TryStart("a"));
        backoff.Ended("a", moved: true);

        // Late failure: the hold ends at once; the next attempt waits for the backoff of the timed-out attempt only.
        Assert.True(backoff.TryStart("b"));
        backoff.TimedOut("b", far);
        time.Advance(TimeSpan.FromSeconds(3));
        backoff.Late("b", moved: false);
        Assert.False(backoff.TryStart("b"));
        time.Advance(TimeSpan.FromSeconds(7));
        Assert.True(backoff.TryStart("b"));
        // The failure counted: the next wait doubles.
        Assert.Equal(TimeSpan.FromSeconds(20), backoff.Ended("b", moved: false));
    }
}
