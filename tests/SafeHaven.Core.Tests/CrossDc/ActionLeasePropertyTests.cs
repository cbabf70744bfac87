using CsCheck;
using Microsoft.Extensions.Time.Testing;
using SafeHaven.Core.CrossDc;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Tests.CrossDc;

/// <summary>
/// Property-based tests of the action lease (docs/SCALING.md §4): planners racing for one entity's lease through one
/// log, each reading it with its own lag and its own clock (off by up to half the skew), as the mover does: take the
/// lease from what it has read, then read up to its own record for the verdict. Two planners of the entity's datacenter
/// race (an active one and one that believes it is: a failover), with a planner of another datacenter writing leases
/// too. After every step: at most one planner believes it holds the lease; no planner of another datacenter may act
/// while it is held; every epoch that wins is above every epoch that won before; every reader agrees on every verdict.
/// </summary>
public sealed class ActionLeasePropertyTests
{
    private const string Entity = "dc1/h1/vm/v1";
    private static readonly TimeSpan Skew = TimeSpan.FromSeconds(2);

    internal enum OpKind { Acquire, Release, Advance, Read }

    internal readonly record struct Op(OpKind Kind, int Writer, int Amount);

    private static readonly Gen<Op> GenOp = Gen.Select(Gen.Int[0, 9], Gen.Int[0, 2], Gen.Int[0, 12_000]).Select(x => new Op(x.Item1 switch
    {
        <= 3 => OpKind.Acquire, 4 => OpKind.Release, <= 7 => OpKind.Advance, _ => OpKind.Read,
    }, x.Item2, x.Item3));

    // Clock offsets in ms of the three writers, each within ±skew/2 of the true time.
    private static readonly Gen<int[]> GenOffsets = Gen.Int[-1000, 1000].Array[3];

    private sealed class OffsetClock(TimeProvider truth, TimeSpan offset) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => truth.GetUtcNow() + offset;
    }

    private sealed class Writer(string datacenter, string planner, TimeProvider clock)
    {
        public string Datacenter { get; } = datacenter;
        public string Planner { get; } = planner;
        public ActionLeaseBook Book { get; } = new(clock) { Skew = Skew, MaxLease = TimeSpan.FromSeconds(30) };
        public List<LeaseVerdict> Verdicts { get; } = [];
        public ActionLease? Mine { get; set; }

        public void ReadUpTo(List<ActionLease?> log, int end)
        {
            while (Verdicts.Count < end)
            {
                Verdicts.Add(Book.Apply(Entity, log[Verdicts.Count]));
            }
        }

        public bool BelievesItHolds => Mine is { } m && Book.Holds(Entity, Datacenter, Planner, m.epoch);
    }

    [Fact]
    public void Racing_planners_never_both_hold_the_lease_and_epochs_only_grow() =>
        Gen.Select(GenOffsets, GenOp.Array[1, 60]).Sample(x =>
        {
            var (offsets, ops) = x;
            var truth = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 0, 0, 0, TimeSpan.Zero));
            Writer[] writers =
            [
                new("dc1", "p1", new OffsetClock(truth, TimeSpan.FromMilliseconds(offsets[0]))),
                new("dc1", "p2", new OffsetClock(truth, TimeSpan.FromMilliseconds(offsets[1]))),
                new("dc2", "p9", new OffsetClock(truth, TimeSpan.FromMilliseconds(offsets[2]))),
            ];
            var log = new List<ActionLease?>();
            foreach (var op in ops)
            {
                Step(op, writers, log, truth);
                Check(writers, log, truth);
            }
        }, iter: 3000, print: x => $"offsets {string.Join(",", x.Item1)}; ops {string.Join("; ", x.Item2)}");

    private static void Step(Op op, Writer[] writers, List<ActionLease?> log, FakeTimeProvider truth)
    {
        var w = writers[op.Writer];
        switch (op.Kind)
        {
            case OpKind.Advance:
                truth.Advance(TimeSpan.FromMilliseconds(op.Amount));
                break;
            case OpKind.Read:
                // Catch up part of the way: readers lag.
                w.ReadUpTo(log, w.Verdicts.Count + ((log.Count - w.Verdicts.Count) * op.Amount / 12_000));
                break;
            case OpKind.Acquire:
                // As the mover: ask only when no other holder's lease is live in what it has read; then read to its own record.
                if (w.Book.Live(Entity) is { } seen && (seen.datacenter != w.Datacenter || seen.planner != w.Planner))
                {
                    break;
                }
                var lease = w.Book.NewLease(Entity, w.Datacenter, w.Datacenter + "-kafka", w.Planner, TimeSpan.FromMilliseconds(1000 + op.Amount), "race");
                log.Add(lease);
                w.ReadUpTo(log, log.Count);
                if (w.Verdicts[^1] == LeaseVerdict.Won)
                {
                    w.Mine = lease;
                }
                break;
            case OpKind.Release:
                if (w.BelievesItHolds)
                {
                    log.Add(ActionLeaseBook.ReleaseOf(w.Mine!, "done"));
                    w.Mine = null;
                }
                else if (op.Amount % 3 == 0)
                {
                    log.Add(null); // a tombstone from someone: must not take a live lease away
                }
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(op));
        }
    }

    private static void Check(Writer[] writers, List<ActionLease?> log, FakeTimeProvider truth)
    {
        var holders = writers.Where(w => w.BelievesItHolds).ToList();
        Assert.True(holders.Count <= 1, $"{holders.Count} planners believe they hold the lease at {truth.GetUtcNow():O}");
        Assert.False(writers[2].BelievesItHolds, "a planner of another datacenter holds the lease");

        // A reader of the whole log on the true clock: every reader agrees on every verdict, whatever its clock.
        var reference = new ActionLeaseBook(truth) { Skew = Skew, MaxLease = TimeSpan.FromSeconds(30) };
        var verdicts = log.Select(r => reference.Apply(Entity, r)).ToList();
        foreach (var w in writers)
        {
            Assert.Equal(verdicts.Take(w.Verdicts.Count), w.Verdicts);
        }
        var won = log.Where((_, i) => verdicts[i] == LeaseVerdict.Won).Select(r => r!.epoch).ToList();
        Assert.True(won.Zip(won.Skip(1)).All(p => p.First < p.Second), $"winning epochs not increasing: {string.Join(",", won)}");

        // While someone acts under the lease, a planner of the other datacenter asking any up-to-date reader is refused.
        if (holders.Count == 1)
        {
            var other = new ActionLeaseBook(new OffsetClock(truth, TimeSpan.FromMilliseconds(-1000))) { Skew = Skew, MaxLease = TimeSpan.FromSeconds(30) };
            log.ForEach(r => other.Apply(Entity, r));
            Assert.NotNull(other.Refusal(Entity, "dc2"));
        }
    }

    [Fact]
    public void A_lease_nobody_renews_or_releases_frees_the_entity_once_expiry_and_skew_pass() =>
        Gen.Select(Gen.Int[1, 30_000], Gen.Int[-1000, 1000], Gen.Int[0, 5_000]).Sample(x =>
        {
            var (lengthMs, offsetMs, afterMs) = x;
            var truth = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 0, 0, 0, TimeSpan.Zero));
            var holder = new ActionLeaseBook(new OffsetClock(truth, TimeSpan.FromMilliseconds(offsetMs))) { Skew = Skew };
            var lease = holder.NewLease(Entity, "dc1", "dc1-kafka", "p1", TimeSpan.FromMilliseconds(lengthMs), "dies");
            holder.Apply(Entity, lease);
            var other = new ActionLeaseBook(truth) { Skew = Skew };
            other.Apply(Entity, lease);
            var end = DateTimeOffset.UnixEpoch + TimeSpan.FromTicks(lease.expiresAtNs / 100);
            // Before expiry + skew on the other side's clock, the lease still refuses; at or after it, it is free.
            truth.SetUtcNow(end + Skew - TimeSpan.FromMilliseconds(1));
            Assert.NotNull(other.Refusal(Entity, "dc2"));
            Assert.False(holder.Holds(Entity, "dc1", "p1", lease.epoch), "the holder still acts after its expiry minus skew");
            truth.Advance(TimeSpan.FromMilliseconds(1 + afterMs));
            Assert.Null(other.Refusal(Entity, "dc2"));
            var next = other.NewLease(Entity, "dc1", "dc1-kafka", "p2", TimeSpan.FromSeconds(10), "after expiry");
            Assert.Equal(LeaseVerdict.Won, other.Apply(Entity, next));
            Assert.True(next.epoch > lease.epoch);
        }, iter: 2000);
}
