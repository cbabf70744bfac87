using System.Globalization;
using System.Text;
using CsCheck;
using Microsoft.Extensions.Time.Testing;
using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Tests.Placement;

/// <summary>
/// Property-based tests of the planner and its ledger: random inventories, entities with and without shared
/// groups, and random sequences of detections (redeliveries included), inventory records arriving before or
/// after their entity's detection, results, quiet signals, exits, expiry and planner restarts from the ledger log. After every step: no slot is held by two groups, no held slot is
/// empty, and the ledger rebuilt from every record written so far equals the live one.
/// </summary>
public sealed class PlannerPropertyTests
{
    private const int Iterations = 2000;
    private static readonly string[] HostNames = ["h0", "h1", "h2", "h3"];
    private static readonly string[] StatusNames = [ResultStatus.Succeeded, ResultStatus.Failed, ResultStatus.Rejected, ResultStatus.Skipped];

    private static string DcOf(string host) => host == "h3" ? "dc2" : "dc1";

    internal sealed record ActuatorSpec(string Id, string Host, string[] Levels, int[] Pool)
    {
        public ActuatorInfo Info => new(Id, DcOf(Host), Host, new HashSet<string>(Levels, StringComparer.Ordinal), CpuList.Of(Pool));

        public override string ToString() => $"{Id}@{DcOf(Host)}/{Host}[{string.Join(",", Levels)}] pool '{CpuList.Of(Pool)}'";
    }

    /// <summary>An entity; <paramref name="Pgid"/> is the process group the probe reports (shared groups).</summary>
    /// <param name="Early">Its inventory record is on the topic from the start; otherwise an Inventory op brings it.</param>
    internal sealed record EntitySpec(string Host, int? Pid, string? Container, string? Vm, int Pgid, bool Early)
    {
        public EntityRef Ref => new() { datacenter = DcOf(Host), host = Host, pid = Pid, container = Container, vm = Vm };

        public string Id => EntityIds.Of(Ref);

        public override string ToString() => $"{Id} pgid {Pgid}{(Early ? "" : " late")}";
    }

    internal enum OpKind { Detect, Redeliver, Result, Quiet, Gone, Expire, Restart, Inventory }

    internal readonly record struct Op(OpKind Kind, int A, int B);

    internal sealed record Scenario(ActuatorSpec[] Inventory, EntitySpec[] Entities, Op[] Ops)
    {
        public override string ToString() => new StringBuilder().AppendLine()
            .Append("inventory: ").AppendJoin("; ", Inventory).AppendLine()
            .Append("entities:  ").AppendJoin("; ", Entities.Select((e, i) => $"e{i}={e}")).AppendLine()
            .Append("ops:       ").AppendJoin("; ", Ops.Select(o => $"{o.Kind} {o.A} {o.B}")).ToString();
    }

    // The levels that move or pin (the intermediate ones have their own property test, LevelChoicePropertyTests).
    private static readonly string[] MoveLevels = [Levels.Core, Levels.Container, Levels.Vm];
    private static readonly Gen<string[]> GenLevels = Gen.Int[1, 7].Select(mask => MoveLevels.Where((_, i) => (mask & (1 << i)) != 0).ToArray());
    private static readonly Gen<int[]> GenPool = Gen.Int[0, 15].Select(mask => Enumerable.Range(0, 4).Where(cpu => (mask & (1 << cpu)) != 0).ToArray());

    private static readonly Gen<ActuatorSpec[]> GenInventory = Gen.Select(Gen.Int[0, 3], GenLevels, GenPool).Array[1, 6]
        .Select(xs => xs.Select((x, i) => new ActuatorSpec("a" + i.ToString(CultureInfo.InvariantCulture), HostNames[x.Item1], x.Item2, x.Item3))
            .DistinctBy(a => a.Host, StringComparer.Ordinal).ToArray());

    private static readonly Gen<EntitySpec[]> GenEntities = Gen.Select(Gen.Int[0, 6], Gen.Int[0, 3], Gen.Int[0, 2], Gen.Bool).Array[1, 8]
        .Select(xs => xs.Select((x, i) =>
        {
            var n = i.ToString(CultureInfo.InvariantCulture);
            return new EntitySpec(HostNames[x.Item2], x.Item1 <= 3 ? 100 + i : null, x.Item1 is 1 or 2 or 4 or 5 ? "c" + n : null,
                x.Item1 is 2 or 3 or 5 or 6 ? "v" + n : null, x.Item3, x.Item4);
        }).ToArray());

    private static readonly Gen<Op> GenOp = Gen.Select(Gen.Int[0, 21], Gen.Int[0, 63], Gen.Int[0, 63]).Select(x => new Op(x.Item1 switch
    {
        <= 6 => OpKind.Detect, 7 => OpKind.Redeliver, <= 12 => OpKind.Result, 13 => OpKind.Quiet, <= 15 => OpKind.Gone, <= 17 => OpKind.Expire,
        <= 19 => OpKind.Restart, _ => OpKind.Inventory,
    }, x.Item2, x.Item3));

    private static readonly Gen<Scenario> GenScenario = Gen.Select(GenInventory, GenEntities, GenOp.Array[1, 50], (i, e, o) => new Scenario(i, e, o));

    private sealed class World(Scenario s)
    {
        public FakeTimeProvider Time { get; } = new(PlannerHarness.Start);
        public List<SlotRecord> Log { get; } = [];
        public List<Detection> Detections { get; } = [];
        // Entities whose inventory record is on the (compacted) topic: a restarted planner reads them again.
        public HashSet<string> Known { get; } = [.. s.Entities.Where(e => e.Early).Select(e => e.Id)];
        public Dictionary<string, int> CommandsPerDetection { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, int> AttemptsPerLevel { get; } = new(StringComparer.Ordinal);
        public PlacementBook Book { get; private set; } = null!;
        public Planner Planner { get; private set; } = null!;

        public void Start()
        {
            Book = new PlacementBook("p");
            Log.ForEach(Book.Apply);
            foreach (var a in s.Inventory)
            {
                Book.Upsert(a.Info);
            }
            foreach (var e in s.Entities.Where(e => Known.Contains(e.Id)))
            {
                Announce(e);
            }
            Planner = new Planner(Book, Time, new PlannerSettings(TimeSpan.FromSeconds(5), ExpiryGrace: TimeSpan.FromSeconds(1)));
        }

        public void Announce(EntitySpec e)
        {
            Known.Add(e.Id);
            Book.Tenants.Set(e.Id, DcOf(e.Host), e.Host, null);
            Book.Tenants.SetGroup(e.Id, "pgid:" + e.Pgid.ToString(CultureInfo.InvariantCulture));
        }

        public void Take(PlanDecision d)
        {
            Log.AddRange(d.Records);
            // Each command id goes out once (re-sends to reconcile aside): agents answer every copy of an id alike.
            if (d.Command is { action: Actions.Isolate } c && !c.reasons.Any(r => r.StartsWith("reconcile", StringComparison.Ordinal)))
            {
                CommandsPerDetection[c.commandId] = CommandsPerDetection.GetValueOrDefault(c.commandId) + 1;
                // ...and a detection gets at most two attempts at a level (the second only after a rejection).
                var perLevel = c.detectionId + "/" + c.level;
                AttemptsPerLevel[perLevel] = AttemptsPerLevel.GetValueOrDefault(perLevel) + 1;
            }
        }
    }

    private static void Run(Scenario s)
    {
        var w = new World(s);
        w.Start();
        for (var step = 0; step < s.Ops.Length; step++)
        {
            var op = s.Ops[step];
            var e = s.Entities[op.A % s.Entities.Length];
            switch (op.Kind)
            {
                case OpKind.Detect:
                    var d = PlannerHarness.Detection(e.Ref, Scopes.All[op.B % Scopes.All.Count], $"{e.Host}:{step}:r1");
                    w.Detections.Add(d);
                    w.Take(w.Planner.Plan(d));
                    break;
                // Redelivery within one planner's term; across a restart only the uncommitted record comes back.
                case OpKind.Redeliver when w.Detections.Count > 0:
                    w.Take(w.Planner.Plan(w.Detections[op.B % w.Detections.Count]));
                    break;
                case OpKind.Result:
                    var outstanding = w.Book.Held.SelectMany(x => x.members).Where(m => m.status != MemberStatus.Held).ToList();
                    if (outstanding.Count > 0)
                    {
                        var m = outstanding[op.A % outstanding.Count];
                        w.Take(w.Planner.OnResult(new IsolationResult
                        {
                            commandId = m.commandId, entity = m.entity, level = "core", status = StatusNames[op.B % StatusNames.Length],
                            phases = new Dictionary<string, long>(StringComparer.Ordinal),
                        }));
                    }
                    break;
                case OpKind.Quiet:
                    var q = PlannerHarness.Detection(e.Ref, Scopes.Core, $"{e.Host}:{step}:r1:quiet");
                    q.kind = DetectionKinds.Quiet;
                    w.Take(w.Planner.Plan(q));
                    break;
                case OpKind.Gone:
                    // As the service does with a tombstone: forget the entity, then release what it held.
                    w.Known.Remove(e.Id);
                    w.Book.Tenants.Remove(e.Id);
                    w.Take(w.Planner.OnGone(e.Id));
                    break;
                case OpKind.Inventory:
                    w.Announce(e);
                    w.Planner.RetryEntity(e.Id).ToList().ForEach(w.Take);
                    break;
                case OpKind.Expire:
                    w.Time.Advance(TimeSpan.FromSeconds(op.B % 8));
                    w.Planner.Expire().ToList().ForEach(w.Take);
                    break;
                case OpKind.Restart:
                    w.Start();
                    w.Detections.Clear();
                    break;
            }
            Check(w, s, step);
        }
        foreach (var e in s.Entities)
        {
            w.Take(w.Planner.OnGone(e.Id));
        }
        Assert.True(w.Book.HeldCount == 0 && w.Book.Waiting.Count == 0, "a slot or a wait leaked after every entity exited:\n" + w.Book.Render());
    }

    private static void Check(World w, Scenario s, int step)
    {
        // Plan what waits, as the service does when the inventory changes.
        if (step % 5 == 4)
        {
            w.Planner.Retry().ToList().ForEach(w.Take);
        }
        foreach (var slot in w.Book.Held)
        {
            Assert.True(slot.members.Count > 0, $"step {step}: slot {slot.slot} is held with no member");
            foreach (var m in slot.members)
            {
                var e = s.Entities.Single(x => x.Id == m.entityId);
                Assert.True(w.Planner.GroupOf(e.Ref, e.Id) == slot.group, $"step {step}: {m.entityId} of group {w.Planner.GroupOf(e.Ref, e.Id)} in slot {slot.slot} of group {slot.group}");
            }
        }
        var rebuilt = new PlacementBook("r");
        w.Log.ForEach(rebuilt.Apply);
        Assert.Equal(w.Book.Render(), rebuilt.Render());
        Assert.All(w.CommandsPerDetection, kv => Assert.True(kv.Value == 1, $"step {step}: command {kv.Key} sent {kv.Value} times"));
        Assert.All(w.AttemptsPerLevel, kv => Assert.True(kv.Value <= 2, $"step {step}: detection/level {kv.Key} got {kv.Value} commands"));
    }

    [Fact]
    public void Ledger_invariants_hold_over_random_histories_with_redeliveries_exits_expiry_and_restarts() =>
        GenScenario.Sample(Run, iter: Iterations, print: s => s.ToString());
}
