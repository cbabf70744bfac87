using System.Globalization;
using CsCheck;
using Microsoft.Extensions.Time.Testing;
using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Tests.Placement;

/// <summary>
/// Property tests of inventory tombstones during VM and container moving-target moves: random histories of moves, results,
/// expiry, tombstones of any id of a moved entity (its source host's, its target host's, any other), inventory records
/// arriving on any host, and planner restarts from the ledger log. After every step: a move's target slot stays booked
/// after its source's tombstone until the move is settled; a success never books a slot under an id tombstoned while the
/// move was outstanding; the ledger rebuilt from its records equals the live one. At the end, once every id went away and
/// every outstanding move expired, nothing is left booked.
/// </summary>
public sealed class MovingTargetExitPropertyTests
{
    private const int Iterations = 1500;
    private static readonly string[] StatusNames = [ResultStatus.Succeeded, ResultStatus.Failed, ResultStatus.Rejected, ResultStatus.Skipped];

    internal enum OpKind { Move, Result, Expire, Gone, Arrive, Restart }

    internal readonly record struct Op(OpKind Kind, int A, int B);

    internal sealed record Scenario(string Level, int Entities, Op[] Ops)
    {
        public override string ToString() => $"{Level}, {Entities} entities, ops: {string.Join("; ", Ops.Select(o => $"{o.Kind} {o.A} {o.B}"))}";
    }

    private static readonly Gen<Op> GenOp = Gen.Select(Gen.Int[0, 11], Gen.Int[0, 63], Gen.Int[0, 63]).Select(x => new Op(x.Item1 switch
    {
        <= 2 => OpKind.Move, <= 5 => OpKind.Result, 6 => OpKind.Expire, <= 8 => OpKind.Gone, <= 10 => OpKind.Arrive, _ => OpKind.Restart,
    }, x.Item2, x.Item3));

    private static readonly Gen<Scenario> GenScenario = Gen.Select(Gen.Bool, Gen.Int[1, 3], GenOp.Array[1, 50],
        (vm, n, ops) => new Scenario(vm ? Levels.Vm : Levels.Container, n, ops));

    private static string Host(int h) => "h" + (h % 3).ToString(CultureInfo.InvariantCulture);

    private static EntityRef On(string level, int i, string host) => level == Levels.Vm
        ? new() { datacenter = "dc1", host = host, vm = "v" + i.ToString(CultureInfo.InvariantCulture) }
        : new() { datacenter = "dc1", host = host, container = "c" + i.ToString(CultureInfo.InvariantCulture) };

    private sealed class World(Scenario s)
    {
        public FakeTimeProvider Time { get; } = new(PlannerHarness.Start);
        public List<SlotRecord> Log { get; } = [];
        public HashSet<string> Inventory { get; } = [];
        // Command id of a move → the ids tombstoned while it was outstanding.
        public Dictionary<string, HashSet<string>> GoneWhile { get; } = [];
        public PlacementBook Book { get; private set; } = null!;
        public Planner Planner { get; private set; } = null!;

        public void Start()
        {
            Book = new PlacementBook("p");
            Log.ForEach(Book.Apply);
            for (var h = 0; h < 3; h++)
            {
                Book.Upsert(new ActuatorInfo("a" + Host(h), "dc1", Host(h), new HashSet<string> { s.Level }, CpuList.Empty));
            }
            foreach (var id in Inventory)
            {
                Book.Tenants.Set(id, "dc1", id.Split('/')[1], null);
            }
            Planner = new Planner(Book, Time, new PlannerSettings(TimeSpan.FromSeconds(5), ExpiryGrace: TimeSpan.FromSeconds(1),
                Policy: new PlannerPolicy(TimeSpan.FromMinutes(5), TimeSpan.Zero, new MoveBudgets(1000, 1000, 1000))));
        }

        public PlanDecision Take(PlanDecision d)
        {
            Log.AddRange(d.Records);
            return d;
        }

        public List<(SlotRecord Slot, SlotMember Member)> Outstanding() =>
            [.. Book.Held.SelectMany(x => x.members.Where(m => m.status != MemberStatus.Held).Select(m => (x, m)))];
    }

    private static void Run(Scenario s)
    {
        var w = new World(s);
        w.Start();
        for (var step = 0; step < s.Ops.Length; step++)
        {
            var op = s.Ops[step];
            var i = op.A % s.Entities;
            switch (op.Kind)
            {
                case OpKind.Move:
                    if (w.Take(w.Planner.PlanMove(new MovingTargetMove("s", s.Level, On(s.Level, i, Host(i)), []))).Command is { } issued)
                    {
                        w.GoneWhile[issued.commandId] = [];
                    }
                    break;
                case OpKind.Result when w.Outstanding() is { Count: > 0 } outstanding:
                    var (slot, m) = outstanding[op.B % outstanding.Count];
                    var status = StatusNames[op.B / 4 % StatusNames.Length];
                    var arrival = EntityIds.Of(new EntityRef { datacenter = "dc1", host = w.Book.Find(slot.actuator)!.Host, vm = m.entity.vm, container = m.entity.container });
                    w.Take(w.Planner.OnResult(new IsolationResult
                    {
                        commandId = m.commandId, entity = m.entity, level = s.Level, status = status, phases = new Dictionary<string, long>(StringComparer.Ordinal),
                    }));
                    if (w.GoneWhile.GetValueOrDefault(m.commandId!)?.Contains(arrival) == true)
                    {
                        Assert.DoesNotContain(w.Book.MembershipsOf(arrival), x => x.Slot.slot == slot.slot);
                    }
                    break;
                case OpKind.Expire:
                    w.Time.Advance(TimeSpan.FromSeconds(op.B % 8));
                    w.Planner.Expire().ToList().ForEach(x => w.Take(x));
                    break;
                case OpKind.Gone:
                    var id = EntityIds.Of(On(s.Level, i, Host(op.B)));
                    var pending = w.Outstanding().Where(x => x.Member.entityId == id).Select(x => x.Slot.slot).ToList();
                    w.Inventory.Remove(id);
                    w.Book.Tenants.Remove(id);
                    foreach (var gone in w.Outstanding())
                    {
                        w.GoneWhile.GetValueOrDefault(gone.Member.commandId!)?.Add(id);
                    }
                    w.Take(w.Planner.OnGone(id));
                    // Its source's tombstone may be the move taking it away: the target stays booked, by it alone.
                    Assert.All(pending, p => Assert.Equal(MemberStatus.Leaving, Assert.Single(w.Book.Slot(p)!.members).status));
                    break;
                case OpKind.Arrive:
                    var arrived = EntityIds.Of(On(s.Level, i, Host(op.B)));
                    w.Inventory.Add(arrived);
                    w.Book.Tenants.Set(arrived, "dc1", Host(op.B), null);
                    break;
                case OpKind.Restart:
                    w.Start();
                    break;
            }
            Check(w, step);
        }
        for (var i = 0; i < s.Entities; i++)
        {
            for (var h = 0; h < 3; h++)
            {
                var id = EntityIds.Of(On(s.Level, i, Host(h)));
                w.Inventory.Remove(id);
                w.Book.Tenants.Remove(id);
                w.Take(w.Planner.OnGone(id));
            }
        }
        for (var round = 0; round < 3; round++)
        {
            w.Time.Advance(TimeSpan.FromSeconds(7));
            w.Planner.Expire().ToList().ForEach(x => w.Take(x));
        }
        Assert.True(w.Book.HeldCount == 0 && w.Book.Waiting.Count == 0, "a slot leaked after every id went away and every move expired:\n" + w.Book.Render());
    }

    private static void Check(World w, int step)
    {
        foreach (var slot in w.Book.Held)
        {
            Assert.True(slot.members.Count > 0, $"step {step}: slot {slot.slot} is held with no member");
        }
        var rebuilt = new PlacementBook("r");
        w.Log.ForEach(rebuilt.Apply);
        Assert.Equal(w.Book.Render(), rebuilt.Render());
    }

    [Fact]
    public void A_moving_entitys_target_slot_is_never_lost_nor_leaked_whatever_tombstones_come() =>
        GenScenario.Sample(Run, iter: Iterations, print: s => s.ToString());
}
