using System.Globalization;
using CsCheck;
using Microsoft.Extensions.Time.Testing;
using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Tests.Placement;

/// <summary>
/// Property tests of moving-target moves and detections sharing one ledger: random pools, schedules, and random
/// sequences of moves, detections, results, expiry, exits and planner restarts. After every step: a move took only a
/// free slot, never one held (or pending) for a detection, and never moved an entity a detection holds or awaits;
/// a detection is never left behind a schedule (it holds a slot, waits, or was refused for a budget); no slot
/// mixes the two; the ledger rebuilt from its records equals the live one; nothing leaks once every entity exited.
/// </summary>
public sealed class MovingTargetPropertyTests
{
    private const int Iterations = 2000;
    private static readonly string[] StatusNames = [ResultStatus.Succeeded, ResultStatus.Failed, ResultStatus.Rejected, ResultStatus.Skipped];

    internal enum OpKind { Move, Detect, Result, Expire, Gone, Restart, Retry }

    internal readonly record struct Op(OpKind Kind, int A, int B);

    /// <summary>A pool of CPUs 0..3, entities 0..5 (pid 100+i), those in the schedule by mask.</summary>
    internal sealed record Scenario(int[] Pool, int Scheduled, int Entities, Op[] Ops)
    {
        public override string ToString() =>
            $"pool {CpuList.Of(Pool)}, {Entities} entities, scheduled mask {Scheduled}, ops: {string.Join("; ", Ops.Select(o => $"{o.Kind} {o.A} {o.B}"))}";
    }

    private static readonly Gen<Op> GenOp = Gen.Select(Gen.Int[0, 15], Gen.Int[0, 63], Gen.Int[0, 63]).Select(x => new Op(x.Item1 switch
    {
        <= 4 => OpKind.Move, <= 7 => OpKind.Detect, <= 11 => OpKind.Result, 12 => OpKind.Expire, 13 => OpKind.Gone, 14 => OpKind.Restart, _ => OpKind.Retry,
    }, x.Item2, x.Item3));

    private static readonly Gen<Scenario> GenScenario = Gen.Select(Gen.Int[1, 15], Gen.Int[1, 63], Gen.Int[1, 6], GenOp.Array[1, 60],
        (pool, sched, n, ops) => new Scenario([.. Enumerable.Range(0, 4).Where(c => (pool & (1 << c)) != 0)], sched, n, ops));

    private static EntityRef Entity(int i) => new() { datacenter = "dc1", host = "h1", pid = 100 + i };

    private sealed class World(Scenario s)
    {
        public FakeTimeProvider Time { get; } = new(PlannerHarness.Start);
        public List<SlotRecord> Log { get; } = [];
        public PlacementBook Book { get; private set; } = null!;
        public Planner Planner { get; private set; } = null!;
        public HashSet<int> Alive { get; } = [.. Enumerable.Range(0, s.Entities)];

        public void Start()
        {
            Book = new PlacementBook("p");
            Log.ForEach(Book.Apply);
            Book.Upsert(new ActuatorInfo("h1-agent", "dc1", "h1", new HashSet<string> { Levels.Core }, CpuList.Of(s.Pool)));
            foreach (var i in Alive)
            {
                var id = EntityIds.Of(Entity(i));
                Book.Tenants.Set(id, "dc1", "h1", null);
                Book.Tenants.SetGroup(id, "pgid:" + i.ToString(CultureInfo.InvariantCulture));
            }
            // Budgets far above what a history spends: this test is about slots, not budgets.
            Planner = new Planner(Book, Time, new PlannerSettings(TimeSpan.FromSeconds(5), ExpiryGrace: TimeSpan.FromSeconds(1),
                Policy: new PlannerPolicy(TimeSpan.FromMinutes(5), TimeSpan.Zero, new MoveBudgets(1000, 1000, 1000))));
        }

        public PlanDecision Take(PlanDecision d)
        {
            Log.AddRange(d.Records);
            return d;
        }

        public bool DetectionHolds(string entityId) =>
            Book.WaitingOf(entityId) is not null || Book.MembershipsOf(entityId).Any(x => !Planner.IsMovingTarget(x.Member));
    }

    private static void Run(Scenario s)
    {
        var w = new World(s);
        w.Start();
        for (var step = 0; step < s.Ops.Length; step++)
        {
            var op = s.Ops[step];
            var i = op.A % s.Entities;
            var e = Entity(i);
            var id = EntityIds.Of(e);
            switch (op.Kind)
            {
                case OpKind.Move when (s.Scheduled & (1 << i)) != 0 && w.Alive.Contains(i):
                    var before = w.Book.Held.Select(x => x.slot).ToHashSet(StringComparer.Ordinal);
                    var held = w.DetectionHolds(id);
                    var move = w.Take(w.Planner.PlanMove(new MovingTargetMove("core", Levels.Core, e, [])));
                    if (move.Command is not null)
                    {
                        Assert.False(held, $"step {step}: {id} was moved while a detection holds or awaits it");
                        var booked = Assert.Single(move.Records);
                        Assert.DoesNotContain(booked.slot, before);
                    }
                    break;
                case OpKind.Detect when w.Alive.Contains(i):
                    var d = w.Take(w.Planner.Plan(PlannerHarness.Detection(e, Scopes.Core, $"h1:{step}:r1")));
                    if (d.Preempt is { } release)
                    {
                        Assert.DoesNotContain(w.Book.MembershipsOf(EntityIds.Of(release.entity)), x => x.Slot.cpus == release.target);
                    }
                    if (d.Skipped is null && d.DeadLetter is null)
                    {
                        Assert.True(w.DetectionHolds(id), $"step {step}: detection of {id} left behind a schedule: {string.Join(" | ", d.Reasons)}");
                    }
                    break;
                case OpKind.Result:
                    var outstanding = w.Book.Held.SelectMany(x => x.members).Where(m => m.status != MemberStatus.Held).ToList();
                    if (outstanding.Count > 0)
                    {
                        var m = outstanding[op.B % outstanding.Count];
                        w.Take(w.Planner.OnResult(new IsolationResult
                        {
                            commandId = m.commandId, entity = m.entity, level = Levels.Core, status = StatusNames[op.B % StatusNames.Length],
                            phases = new Dictionary<string, long>(StringComparer.Ordinal),
                        }));
                    }
                    break;
                case OpKind.Expire:
                    w.Time.Advance(TimeSpan.FromSeconds(op.B % 8));
                    w.Planner.Expire().ToList().ForEach(x => w.Take(x));
                    break;
                case OpKind.Gone:
                    w.Alive.Remove(i);
                    w.Book.Tenants.Remove(id);
                    w.Take(w.Planner.OnGone(id));
                    break;
                case OpKind.Restart:
                    w.Start();
                    break;
                case OpKind.Retry:
                    w.Planner.Retry().ToList().ForEach(x => w.Take(x));
                    break;
            }
            Check(w, step);
        }
        for (var i = 0; i < s.Entities; i++)
        {
            w.Take(w.Planner.OnGone(EntityIds.Of(Entity(i))));
        }
        Assert.True(w.Book.HeldCount == 0 && w.Book.Waiting.Count == 0, "a slot or a wait leaked after every entity exited:\n" + w.Book.Render());
    }

    private static void Check(World w, int step)
    {
        foreach (var slot in w.Book.Held)
        {
            Assert.True(slot.members.Count > 0, $"step {step}: slot {slot.slot} is held with no member");
            Assert.False(slot.members.Any(Planner.IsMovingTarget) && slot.members.Any(m => !Planner.IsMovingTarget(m)),
                $"step {step}: slot {slot.slot} mixes a moving-target member and a detection's:\n{w.Book.Render()}");
        }
        var rebuilt = new PlacementBook("r");
        w.Log.ForEach(rebuilt.Apply);
        Assert.Equal(w.Book.Render(), rebuilt.Render());
    }

    [Fact]
    public void Moves_never_take_a_slot_held_for_a_detection_and_detections_are_never_left_behind_a_schedule() =>
        GenScenario.Sample(Run, iter: Iterations, print: s => s.ToString());
}
