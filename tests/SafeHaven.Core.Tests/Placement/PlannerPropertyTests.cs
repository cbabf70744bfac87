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
/// empty, and the ledger rebuilt from every record written so far equals the live one. The model knows that a VM or
/// container a successful move took to another host runs there under that host's id (docs/LEDGER.md, "Moved members"):
/// its ledger member is renamed, keeps its group, a tombstone of an id it left frees nothing of it, and its new id's does.
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
        // Entities whose inventory record is on the (compacted) topic, by id: a restarted planner reads them again.
        public Dictionary<string, (int Entity, EntityRef Ref)> Known { get; } =
            s.Entities.Select((e, i) => (e, i)).Where(x => x.e.Early).ToDictionary(x => x.e.Id, x => (x.i, x.e.Ref), StringComparer.Ordinal);
        // Where each entity runs now: a successful VM or container move takes it to the target host, under that host's id.
        public EntityRef[] At { get; } = [.. s.Entities.Select(e => e.Ref)];
        // Every id an entity had (its own and those moves gave it) -> the entity, and where that id runs.
        public Dictionary<string, (int Entity, EntityRef Ref)> Ids { get; } =
            s.Entities.Select((e, i) => (e, i)).ToDictionary(x => x.e.Id, x => (x.i, x.e.Ref), StringComparer.Ordinal);
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
            foreach (var (_, (i, at)) in Known.ToList())
            {
                Announce(i, at);
            }
            Planner = new Planner(Book, Time, new PlannerSettings(TimeSpan.FromSeconds(5), ExpiryGrace: TimeSpan.FromSeconds(1)));
        }

        public void Announce(int i, EntityRef at)
        {
            var id = EntityIds.Of(at);
            Known[id] = (i, at);
            Book.Tenants.Set(id, at.datacenter, at.host, null);
            Book.Tenants.SetGroup(id, "pgid:" + s.Entities[i].Pgid.ToString(CultureInfo.InvariantCulture));
        }

        // As the service does with a tombstone: forget the entity, then release what it held.
        public void Tombstone(string id)
        {
            Known.Remove(id);
            Book.Tenants.Remove(id);
            Take(Planner.OnGone(id));
        }

        public IEnumerable<(string Slot, string Status, string Command)> Holdings(string id) =>
            Book.MembershipsOf(id).Select(x => (x.Slot.slot, x.Member.status, x.Member.commandId));

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
            var i = op.A % s.Entities.Length;
            var e = s.Entities[i];
            // The detector, the probes and the quiet signal name the entity where it runs now.
            var at = w.At[i];
            switch (op.Kind)
            {
                case OpKind.Detect:
                    var d = PlannerHarness.Detection(at, Scopes.All[op.B % Scopes.All.Count], $"{at.host}:{step}:r1");
                    w.Detections.Add(d);
                    w.Take(w.Planner.Plan(d));
                    break;
                // Redelivery within one planner's term; across a restart only the uncommitted record comes back.
                case OpKind.Redeliver when w.Detections.Count > 0:
                    w.Take(w.Planner.Plan(w.Detections[op.B % w.Detections.Count]));
                    break;
                case OpKind.Result:
                    var outstanding = w.Book.Held.SelectMany(x => x.members.Select(m => (Slot: x, Member: m))).Where(x => x.Member.status != MemberStatus.Held).ToList();
                    if (outstanding.Count > 0)
                    {
                        var (slot, m) = outstanding[op.A % outstanding.Count];
                        var status = StatusNames[op.B % StatusNames.Length];
                        w.Take(w.Planner.OnResult(new IsolationResult
                        {
                            commandId = m.commandId, entity = m.entity, level = "core", status = status,
                            phases = new Dictionary<string, long>(StringComparer.Ordinal),
                        }));
                        if (m.status is MemberStatus.Pending or MemberStatus.Leaving && slot.level is Levels.Container or Levels.Vm
                            && status is ResultStatus.Succeeded or ResultStatus.Skipped)
                        {
                            Moved(w, s, step, slot, m);
                        }
                    }
                    break;
                case OpKind.Quiet:
                    var q = PlannerHarness.Detection(at, Scopes.Core, $"{at.host}:{step}:r1:quiet");
                    q.kind = DetectionKinds.Quiet;
                    w.Take(w.Planner.Plan(q));
                    break;
                case OpKind.Gone:
                    var now = EntityIds.Of(at);
                    // Half of them name the id the entity started with: for a moved entity, its source host's tombstone.
                    var gone = op.B % 2 == 0 ? e.Id : now;
                    var before = w.Holdings(now).ToList();
                    w.Tombstone(gone);
                    if (gone != now)
                    {
                        Assert.True(before.SequenceEqual(w.Holdings(now)), $"step {step}: the tombstone of {gone}, an id {now} left, changed what {now} holds");
                    }
                    else
                    {
                        // Gone from where it runs: it holds nothing, except as leaving where a move of it is outstanding (the
                        // tombstone may be that very move taking it away; the move's result settles it).
                        Assert.True(w.Holdings(now).All(h => h.Status == MemberStatus.Leaving),
                            $"step {step}: {now} went away but still holds " + string.Join(", ", w.Holdings(now)));
                        w.At[i] = e.Ref; // gone: it may come back where it started, as a new entity
                    }
                    break;
                case OpKind.Inventory:
                    w.Announce(i, at);
                    w.Planner.RetryEntity(EntityIds.Of(at)).ToList().ForEach(w.Take);
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
        // Every entity exits; a member kept as leaving is settled by expiry (its move unanswered, its arrival in no inventory).
        for (var round = 0; round < 3; round++)
        {
            foreach (var id in w.Ids.Keys)
            {
                w.Book.Tenants.Remove(id);
                w.Take(w.Planner.OnGone(id));
            }
            w.Time.Advance(TimeSpan.FromMinutes(1));
            w.Planner.Expire().ToList().ForEach(w.Take);
        }
        Assert.True(w.Book.HeldCount == 0 && w.Book.Waiting.Count == 0, "a slot or a wait leaked after every entity exited:\n" + w.Book.Render());
    }

    // A VM or container move succeeded: the model expects its member under the id it has on the target host (in that host's
    // datacenter), still in the slot, held, with the group it had; from now on the entity is known by that id.
    private static void Moved(World w, Scenario s, int step, SlotRecord slot, SlotMember m)
    {
        var host = s.Inventory.Single(a => a.Id == slot.actuator).Host;
        var arrived = new EntityRef { datacenter = DcOf(host), host = host, pid = m.entity.pid, container = m.entity.container, vm = m.entity.vm };
        var id = EntityIds.Of(arrived);
        var member = w.Book.Slot(slot.slot)?.members.SingleOrDefault(x => x.commandId == m.commandId);
        if (slot.members.Any(x => x.entityId == id))
        {
            // An earlier detection's move already took it there under that id: one entity, one member.
            Assert.True(member is null && w.Book.Slot(slot.slot)!.members.Any(x => x.entityId == id),
                $"step {step}: {m.entityId} moved by {m.commandId} to slot {slot.slot}, which holds it as {id} already: its member should leave");
        }
        else
        {
            Assert.True(member is { status: MemberStatus.Held } && member.entityId == id,
                $"step {step}: {m.entityId} moved to {host} by {m.commandId}, so slot {slot.slot} should hold it as {id}, not {member?.entityId}:{member?.status}");
        }
        var i = w.Ids[m.entityId].Entity;
        w.Ids[id] = (i, arrived);
        w.At[i] = arrived;
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
                Assert.True(w.Ids.TryGetValue(m.entityId, out var of), $"step {step}: {m.entityId} in slot {slot.slot} is no id of any entity");
                // An entity's groups: the one each id it had gives (a move carries its group along; a detection that still
                // names an id it left books under that id's). Another entity's group never.
                var groups = w.Ids.Where(x => x.Value.Entity == of.Entity).Select(x => SuspectGroups.Of(x.Value.Ref, x.Key, w.Book.Tenants.TenantOf(x.Key), w.Book.Tenants.GroupOf(x.Key))).ToHashSet();
                Assert.True(groups.Contains(slot.group!), $"step {step}: {m.entityId} (e{of.Entity}) of groups {string.Join(", ", groups)} in slot {slot.slot} of group {slot.group}");
            }
        }
        // The planner knows the group an id holds its slots for, also a moved one's after a restart (read from the ledger).
        foreach (var id in w.Ids.Keys)
        {
            var held = w.Book.MembershipsOf(id).ToList();
            if (held.Select(x => x.Slot.group).Distinct().Count() == 1)
            {
                Assert.True(w.Planner.GroupOf(held[0].Member.entity, id) == held[0].Slot.group,
                    $"step {step}: the planner gives {id} group {w.Planner.GroupOf(held[0].Member.entity, id)}; it holds {held[0].Slot.slot} for {held[0].Slot.group}");
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
