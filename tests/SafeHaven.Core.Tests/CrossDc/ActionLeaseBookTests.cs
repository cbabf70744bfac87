using Microsoft.Extensions.Time.Testing;
using SafeHaven.Core.CrossDc;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Tests.CrossDc;

/// <summary>The action-lease state machine (docs/SCALING.md §4) on fake time.</summary>
public sealed class ActionLeaseBookTests
{
    private const string Entity = "dc1/h1/vm/v1";
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 5, 0, 0, 0, TimeSpan.Zero));
    private readonly ActionLeaseBook _book;

    public ActionLeaseBookTests() => _book = new ActionLeaseBook(_clock) { Skew = TimeSpan.FromSeconds(2) };

    private ActionLease Lease(string dc, string planner, TimeSpan length) => _book.NewLease(Entity, dc, dc + "-kafka", planner, length, "test");

    [Fact]
    public void The_first_lease_wins_and_another_datacenter_may_not_act_while_it_is_live()
    {
        var source = Lease("dc1", "p1", TimeSpan.FromSeconds(30));
        Assert.Equal(LeaseVerdict.Won, _book.Apply(Entity, source));
        Assert.Null(_book.Refusal(Entity, "dc1"));
        Assert.Contains("datacenter dc1", _book.Refusal(Entity, "dc2"), StringComparison.Ordinal);

        _clock.Advance(TimeSpan.FromSeconds(5));
        var conflicting = Lease("dc1", "p9", TimeSpan.FromSeconds(30));
        Assert.Equal(LeaseVerdict.Lost, _book.Apply(Entity, conflicting));
        Assert.True(_book.Holds(Entity, "dc1", "p1", source.epoch));
        Assert.False(_book.Holds(Entity, "dc1", "p9", conflicting.epoch));
    }

    [Fact]
    public void A_lease_whose_holder_died_expires_and_then_another_planner_wins()
    {
        var source = Lease("dc1", "p1", TimeSpan.FromSeconds(10));
        _book.Apply(Entity, source);
        // The holder stops acting skew before the expiry; others wait skew after it.
        _clock.Advance(TimeSpan.FromSeconds(8.5));
        Assert.False(_book.Holds(Entity, "dc1", "p1", source.epoch));
        Assert.NotNull(_book.Refusal(Entity, "dc2"));
        _clock.Advance(TimeSpan.FromSeconds(3));
        Assert.NotNull(_book.Refusal(Entity, "dc2"));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(_book.Refusal(Entity, "dc2"));
        var next = Lease("dc1", "p9", TimeSpan.FromSeconds(10));
        Assert.True(next.epoch > source.epoch);
        Assert.Equal(LeaseVerdict.Won, _book.Apply(Entity, next));
        Assert.NotNull(_book.Refusal(Entity, "dc2"));
    }

    [Fact]
    public void The_holders_release_record_ends_the_lease_at_once_and_a_tombstone_does_not()
    {
        var lease = Lease("dc1", "p1", TimeSpan.FromSeconds(30));
        _book.Apply(Entity, lease);
        // A tombstone names no writer: it cannot take a live lease away.
        Assert.Equal(LeaseVerdict.Invalid, _book.Apply(Entity, null));
        Assert.NotNull(_book.Live(Entity));
        // Nor can a release by another planner, or of another epoch.
        var foreign = ActionLeaseBook.ReleaseOf(lease, "not mine");
        foreign.planner = "p2";
        Assert.Equal(LeaseVerdict.Invalid, _book.Apply(Entity, foreign));
        var older = ActionLeaseBook.ReleaseOf(lease, "old epoch");
        older.epoch--;
        Assert.Equal(LeaseVerdict.Invalid, _book.Apply(Entity, older));
        Assert.Equal(LeaseVerdict.Released, _book.Apply(Entity, ActionLeaseBook.ReleaseOf(lease, "done")));
        Assert.Null(_book.Live(Entity));
        Assert.Equal(LeaseVerdict.Released, _book.Apply(Entity, null));
        Assert.Equal(LeaseVerdict.Won, _book.Apply(Entity, Lease("dc1", "p2", TimeSpan.FromSeconds(30))));
    }

    [Fact]
    public void Only_the_entitys_own_datacenter_may_lease_it()
    {
        Assert.Equal(LeaseVerdict.Invalid, _book.Apply(Entity, Lease("dc2", "p9", TimeSpan.FromSeconds(30))));
        Assert.Equal(LeaseVerdict.Invalid, _book.Apply(Entity, Lease("dc", "p9", TimeSpan.FromSeconds(30))));
        Assert.Null(_book.Live(Entity));
    }

    [Fact]
    public void Epochs_fence_replayed_delayed_and_runaway_records()
    {
        var first = Lease("dc1", "p1", TimeSpan.FromSeconds(10));
        var second = _book.NewLease(Entity, "dc1", "dc1-kafka", "p1", TimeSpan.FromSeconds(10), "renewal");
        Assert.Equal(first.epoch, second.epoch);
        Assert.Equal(LeaseVerdict.Won, _book.Apply(Entity, first));
        // Written by a writer that had not read the first: the same epoch is fenced out.
        Assert.Equal(LeaseVerdict.Stale, _book.Apply(Entity, second));
        // A replay of the winning record itself.
        Assert.Equal(LeaseVerdict.Stale, _book.Apply(Entity, first));
        Assert.Equal(first.epoch, _book.Fence(Entity));
        var runaway = Lease("dc1", "p1", TimeSpan.FromSeconds(10));
        runaway.epoch = long.MaxValue;
        Assert.Equal(LeaseVerdict.Stale, _book.Apply(Entity, runaway));
        Assert.Equal(first.epoch + 1, _book.NextEpoch(Entity));
    }

    [Fact]
    public void The_holder_renews_its_own_lease_and_the_new_epoch_replaces_the_old()
    {
        var first = Lease("dc1", "p1", TimeSpan.FromSeconds(10));
        _book.Apply(Entity, first);
        _clock.Advance(TimeSpan.FromSeconds(5));
        var second = Lease("dc1", "p1", TimeSpan.FromSeconds(10));
        Assert.Equal(LeaseVerdict.Won, _book.Apply(Entity, second));
        Assert.False(_book.Holds(Entity, "dc1", "p1", first.epoch));
        Assert.True(_book.Holds(Entity, "dc1", "p1", second.epoch));
    }

    [Fact]
    public void Another_planner_of_the_same_datacenter_is_another_holder()
    {
        _book.Apply(Entity, Lease("dc1", "p1", TimeSpan.FromSeconds(30)));
        var other = Lease("dc1", "p2", TimeSpan.FromSeconds(30));
        Assert.Equal(LeaseVerdict.Lost, _book.Apply(Entity, other));
        // A lost record does not move the fence: the holder's renewal after it still wins.
        Assert.Equal(LeaseVerdict.Won, _book.Apply(Entity, Lease("dc1", "p1", TimeSpan.FromSeconds(30))));
    }

    [Fact]
    public void Every_reader_agrees_whatever_its_clock()
    {
        // Two readers fold the same log; one reads it an hour later: the winner of each record is the same.
        var log = new List<ActionLease?> { Lease("dc1", "p1", TimeSpan.FromSeconds(10)) };
        _clock.Advance(TimeSpan.FromSeconds(3));
        log.Add(Lease("dc1", "p9", TimeSpan.FromSeconds(10)));
        _clock.Advance(TimeSpan.FromSeconds(20));
        log.Add(Lease("dc1", "p9", TimeSpan.FromSeconds(10)));
        // Each writer had read the records before its own (epochs 1, 2, 3), as the mover does.
        for (var i = 0; i < log.Count; i++)
        {
            log[i]!.epoch = i + 1;
        }
        var late = new ActionLeaseBook(new FakeTimeProvider(_clock.GetUtcNow() + TimeSpan.FromHours(1)));
        var now = new ActionLeaseBook(_clock);
        var verdicts = log.Select(r => now.Apply(Entity, r)).ToList();
        Assert.Equal([LeaseVerdict.Won, LeaseVerdict.Lost, LeaseVerdict.Won], verdicts);
        Assert.Equal(verdicts, log.Select(r => late.Apply(Entity, r)).ToList());
    }

    [Fact]
    public void Malformed_leases_change_nothing()
    {
        var backwards = Lease("dc1", "p1", TimeSpan.FromSeconds(10));
        backwards.expiresAtNs = backwards.acquiredAtNs;
        Assert.Equal(LeaseVerdict.Invalid, _book.Apply(Entity, backwards));
        var tooLong = Lease("dc1", "p1", TimeSpan.FromSeconds(10));
        tooLong.expiresAtNs = tooLong.acquiredAtNs + (long)TimeSpan.FromDays(1).TotalNanoseconds;
        Assert.Equal(LeaseVerdict.Invalid, _book.Apply(Entity, tooLong));
        // Instants chosen so that expiry − acquisition wraps around to a small number.
        var wrapping = Lease("dc1", "p1", TimeSpan.FromSeconds(10));
        (wrapping.acquiredAtNs, wrapping.expiresAtNs) = (long.MinValue, long.MaxValue);
        Assert.Equal(LeaseVerdict.Invalid, _book.Apply(Entity, wrapping));
        var otherKey = Lease("dc1", "p1", TimeSpan.FromSeconds(10));
        Assert.Equal(LeaseVerdict.Invalid, _book.Apply("dc1/h1/vm/other", otherKey));
        Assert.Null(_book.Live(Entity));
        Assert.Throws<ArgumentOutOfRangeException>(() => Lease("dc1", "p1", TimeSpan.FromHours(1)));
    }

    [Fact]
    public void Commands_under_a_lease_end_before_others_may_act()
    {
        var lease = Lease("dc1", "p1", TimeSpan.FromSeconds(30));
        _book.Apply(Entity, lease);
        var lastCommandDeadline = _book.HeldUntilNs(lease);
        // Others may act only once their clock passes expiry + skew: 2 × skew after the last deadline.
        _clock.SetUtcNow(DateTimeOffset.UnixEpoch + TimeSpan.FromTicks(lastCommandDeadline / 100));
        Assert.NotNull(_book.Refusal(Entity, "dc2"));
        _clock.Advance(TimeSpan.FromSeconds(4));
        Assert.Null(_book.Refusal(Entity, "dc2"));
    }
}
