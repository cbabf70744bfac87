using System.Globalization;
using System.Text;
using CsCheck;
using Microsoft.Extensions.Time.Testing;
using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Tests.Placement;

/// <summary>
/// Property-based tests of the planner: random inventories, random entities, and random
/// sequences of detections interleaved with actuator results, checked against a small model of
/// which slots are live (the entity's command is pending or succeeded).
/// </summary>
public sealed class PlannerPropertyTests
{
    private const int Iterations = 3000;

    // Hosts h0..h2 are in dc1, h3 in dc2: a host name is unique across datacenters.
    private static readonly string[] HostNames = ["h0", "h1", "h2", "h3"];
    private static readonly string[] StatusNames = [ResultStatus.Succeeded, ResultStatus.Failed, ResultStatus.Rejected];

    private static string DcOf(string host) => host == "h3" ? "dc2" : "dc1";

    // ---- scenario ---------------------------------------------------------------------------

    internal sealed record ActuatorSpec(string Id, string Host, string[] Levels, int[] Pool)
    {
        public ActuatorInfo Info => new(Id, DcOf(Host), Host, new HashSet<string>(Levels, StringComparer.Ordinal), CpuList.Of(Pool));

        public override string ToString() =>
            $"{Id}@{DcOf(Host)}/{Host}[{string.Join(",", Levels)}] pool '{CpuList.Of(Pool)}'";
    }

    internal sealed record EntitySpec(string Host, int? Pid, string? Container, string? Vm)
    {
        public EntityRef Ref => new() { datacenter = DcOf(Host), host = Host, pid = Pid, container = Container, vm = Vm };

        public string Id => EntityIds.Of(Ref);

        public override string ToString() =>
            Id + (Pid is not null && Container is not null ? $" in container {Container}" : "")
               + (Vm is not null && (Pid is not null || Container is not null) ? $" in vm {Vm}" : "");
    }

    internal enum OpKind { Detect, Result, Advance }

    /// <summary>Detect: A = entity, B = scope. Result: A = pending command, B = status. Advance: A = ms.</summary>
    internal readonly record struct Op(OpKind Kind, int A, int B);

    internal sealed record Scenario(ActuatorSpec[] Inventory, EntitySpec[] Entities, Op[] Ops)
    {
        public override string ToString()
        {
            var sb = new StringBuilder();
            sb.AppendLine().Append("inventory: ").AppendJoin("; ", Inventory).AppendLine();
            sb.Append("entities:  ").AppendJoin("; ", Entities.Select((e, i) => $"e{i}={e}")).AppendLine();
            sb.Append("ops:       ").AppendJoin("; ", Ops.Select(o => o.Kind switch
            {
                OpKind.Detect => $"detect e{o.A % Entities.Length} {Scopes.All[o.B % Scopes.All.Count]}",
                OpKind.Result => $"result pending#{o.A} {StatusNames[o.B % StatusNames.Length]}",
                _ => $"advance {o.A}ms",
            }));
            return sb.ToString();
        }
    }

    private static readonly Gen<string[]> GenLevels = Gen.Int[1, 7].Select(mask =>
        Levels.All.Where((_, i) => (mask & (1 << i)) != 0).ToArray());

    private static readonly Gen<int[]> GenPool = Gen.Int[0, 15].Select(mask =>
        Enumerable.Range(0, 4).Where(cpu => (mask & (1 << cpu)) != 0).ToArray());

    private static readonly Gen<ActuatorSpec[]> GenInventory =
        Gen.Select(Gen.Int[0, 3], GenLevels, GenPool)
            .Array[1, 6]
            .Select(xs => xs.Select((x, i) => new ActuatorSpec("a" + i.ToString(CultureInfo.InvariantCulture), HostNames[x.Item1], x.Item2, x.Item3)).ToArray());

    private static readonly Gen<EntitySpec[]> GenEntities =
        Gen.Select(Gen.Int[0, 6], Gen.Int[0, 3])
            .Array[1, 8]
            .Select(xs => xs.Select((x, i) => NewEntity(i, x.Item1, HostNames[x.Item2])).ToArray());

    private static EntitySpec NewEntity(int i, int kind, string host)
    {
        var n = i.ToString(CultureInfo.InvariantCulture);
        int? pid = kind <= 3 ? 100 + i : null;
        var container = kind is 1 or 2 or 4 or 5 ? "c" + n : null;
        var vm = kind is 2 or 3 or 5 or 6 ? "v" + n : null;
        return new EntitySpec(host, pid, container, vm);
    }

    private static readonly Gen<Op> GenOp = Gen.Select(Gen.Int[0, 9], Gen.Int[0, 63], Gen.Int[0, 63])
        .Select(x => new Op(x.Item1 switch { <= 4 => OpKind.Detect, <= 8 => OpKind.Result, _ => OpKind.Advance }, x.Item2, x.Item3));

    private static readonly Gen<Scenario> GenScenario =
        Gen.Select(GenInventory, GenEntities, GenOp.Array[1, 40], (inv, ents, ops) => new Scenario(inv, ents, ops));

    /// <summary>
    /// The same, with at most one actuator per host: the whole-host ledger key is per actuator, so
    /// two actuators on one host are a known bug (see the skipped tests below).
    /// </summary>
    private static readonly Gen<Scenario> GenScenarioOneActuatorPerHost = GenScenario.Select(s => s with
    {
        Inventory = [.. s.Inventory.DistinctBy(a => a.Host, StringComparer.Ordinal)],
    });

    // ---- interpreter and model --------------------------------------------------------------

    private sealed record Live(IsolationCommand Command, string EntityId, string Slot);

    /// <summary>Runs a scenario; returns every decision rendered as text (for determinism checks).</summary>
    /// <param name="s">The scenario.</param>
    /// <param name="check">Check the invariants after every step.</param>
    /// <param name="redetectWhilePending">Let a Detect op hit an entity that already has a pending command.</param>
    /// <param name="reverseInventory">Upsert the inventory in reverse order.</param>
    private static List<string> Run(Scenario s, bool check, bool redetectWhilePending = true, bool reverseInventory = false)
    {
        var book = new PlacementBook();
        foreach (var a in reverseInventory ? s.Inventory.Reverse() : s.Inventory)
        {
            book.Upsert(a.Info);
        }
        var time = new FakeTimeProvider(PlannerHarness.Start);
        var planner = new Planner(book, time, new PlannerSettings(TimeSpan.FromSeconds(5)));
        var actuators = s.Inventory.ToDictionary(a => a.Id, StringComparer.Ordinal);
        var pending = new List<IsolationCommand>();
        var live = new List<Live>();
        var levelsByDetection = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var trace = new List<string>();

        for (var step = 0; step < s.Ops.Length; step++)
        {
            var op = s.Ops[step];
            switch (op.Kind)
            {
                case OpKind.Detect:
                {
                    var e = s.Entities[op.A % s.Entities.Length];
                    var scope = Scopes.All[op.B % Scopes.All.Count];
                    if (!redetectWhilePending && pending.Any(c => EntityIds.Of(c.entity) == e.Id))
                    {
                        break;
                    }
                    var detectionId = string.Create(CultureInfo.InvariantCulture, $"{e.Host}:{step}:r{op.B % Scopes.All.Count}");
                    var expected = check ? FirstPlaceableLevel(e, Scopes.MinimumLevel(scope)) : null;
                    var decision = planner.Plan(PlannerHarness.Detection(e.Ref, scope, detectionId));
                    trace.Add(Render(step, decision));
                    if (check)
                    {
                        Assert.True(expected == decision.Command?.level,
                            $"step {step}: model expected level {expected ?? "none"}, planner gave {decision.Command?.level ?? "none"}: {string.Join(" | ", decision.Reasons)}");
                    }
                    if (decision.Command is { } c)
                    {
                        Issued(step, c, e, scope, firstForDetection: true);
                    }
                    break;
                }
                case OpKind.Result:
                {
                    if (pending.Count == 0)
                    {
                        break;
                    }
                    var answered = pending[op.A % pending.Count];
                    var status = StatusNames[op.B % StatusNames.Length];
                    pending.Remove(answered);
                    if (status != ResultStatus.Succeeded)
                    {
                        live.RemoveAll(l => ReferenceEquals(l.Command, answered));
                    }
                    var e = s.Entities.Single(x => x.Id == EntityIds.Of(answered.entity));
                    var next = Levels.Next(answered.level);
                    var expected = check && status != ResultStatus.Succeeded && next is not null ? FirstPlaceableLevel(e, next) : null;
                    var decision = planner.OnResult(PlannerHarness.Result(answered, status, "boom"));
                    trace.Add(Render(step, decision));
                    if (check)
                    {
                        Assert.True(expected == decision.Command?.level,
                            $"step {step}: after {status} of {answered.commandId}, model expected level {expected ?? "none"}, planner gave {decision.Command?.level ?? "none"}: {string.Join(" | ", decision.Reasons)}");
                    }
                    if (decision.Command is { } c)
                    {
                        Assert.Equal(answered.detectionId, c.detectionId);
                        Issued(step, c, e, scope: null, firstForDetection: false);
                    }
                    break;
                }
                default:
                    time.Advance(TimeSpan.FromMilliseconds(op.A));
                    break;
            }
            if (check)
            {
                Assert.Equal(pending.Count, planner.Pending);
            }
        }
        return trace;

        void Issued(int step, IsolationCommand c, EntitySpec e, string? scope, bool firstForDetection)
        {
            pending.Add(c);
            var slot = SlotOf(c, actuators);
            if (check)
            {
                CheckCriterion(step, c, e, scope, actuators);
                // (c) escalation only upward, per detection.
                var rank = Levels.IndexOf(c.level);
                if (!levelsByDetection.TryGetValue(c.detectionId, out var ranks))
                {
                    levelsByDetection[c.detectionId] = ranks = [];
                }
                Assert.True(firstForDetection == (ranks.Count == 0), $"step {step}: {c.commandId} first command of its detection? {firstForDetection}");
                Assert.True(ranks.Count == 0 || rank > ranks[^1],
                    $"step {step}: {c.commandId} at level {c.level} after level {(ranks.Count == 0 ? "-" : Levels.All[ranks[^1]])} for detection {c.detectionId}");
                ranks.Add(rank);
                // (a) no slot booked twice among live reservations.
                var clash = live.FirstOrDefault(l => l.Slot == slot && l.EntityId != e.Id);
                Assert.True(clash is null,
                    $"step {step}: {c.commandId} for {e.Id} books {slot}, still held by {clash?.EntityId} through live command {clash?.Command.commandId}");
            }
            live.Add(new Live(c, e.Id, slot));
        }

        // The cheapest level from `from` up at which the model sees a free slot for `e`.
        string? FirstPlaceableLevel(EntitySpec e, string from)
        {
            for (string? l = from; l is not null; l = Levels.Next(l))
            {
                if (Placeable(e, l))
                {
                    return l;
                }
            }
            return null;
        }

        bool Placeable(EntitySpec e, string level)
        {
            bool FreeFor(string slot) => live.All(l => l.Slot != slot || l.EntityId == e.Id);
            if (level == Levels.Core)
            {
                var host = s.Inventory.Where(a => a.Host == e.Host && a.Levels.Contains(Levels.Core))
                    .OrderBy(a => a.Id, StringComparer.Ordinal).FirstOrDefault();
                return e.Pid is not null && host is not null && host.Pool.Any(cpu => FreeFor(CpuSlot(host.Id, cpu)));
            }
            var movable = level == Levels.Container ? e.Container is not null : e.Vm is not null;
            return movable
                && s.Inventory.Any(a => a.Host == e.Host && a.Levels.Contains(level))
                && s.Inventory.Any(t => t.Host != e.Host && t.Levels.Contains(level) && FreeFor(HostSlot(t.Host)));
        }
    }

    private static string CpuSlot(string actuatorId, int cpu) => string.Create(CultureInfo.InvariantCulture, $"cpu {actuatorId}#{cpu}");

    private static string HostSlot(string host) => $"host {DcOf(host)}/{host}";

    private static string SlotOf(IsolationCommand c, Dictionary<string, ActuatorSpec> actuators) => c.level == Levels.Core
        ? CpuSlot(c.source, int.Parse(c.target, CultureInfo.InvariantCulture))
        : HostSlot(actuators[c.target].Host);

    /// <summary>(b) the target meets the scope's criterion (DESIGN §2).</summary>
    private static void CheckCriterion(int step, IsolationCommand c, EntitySpec e, string? scope, Dictionary<string, ActuatorSpec> actuators)
    {
        var at = $"step {step}: {c.commandId} ({c.level} {c.source} -> {c.target}) for {e.Id}";
        if (scope is not null)
        {
            Assert.True(Levels.IndexOf(c.level) >= Levels.IndexOf(Scopes.MinimumLevel(scope)), $"{at}: below the minimum level of scope {scope}");
        }
        Assert.True(actuators.TryGetValue(c.source, out var source), $"{at}: unknown source actuator");
        Assert.True(source.Host == e.Host && source.Levels.Contains(c.level), $"{at}: source is not a {c.level} actuator on {e.Host}");
        Assert.Equal(EntityIds.Of(e.Ref), EntityIds.Of(c.entity));
        switch (c.level)
        {
            case Levels.Core:
                Assert.True(e.Pid is not null, $"{at}: core level for a non-process");
                var cpus = CpuList.Parse(c.target);
                Assert.True(cpus.Count == 1 && cpus.IsSubsetOf(CpuList.Of(source.Pool)), $"{at}: CPU {c.target} not in pool '{CpuList.Of(source.Pool)}'");
                break;
            case Levels.Container or Levels.Vm:
                Assert.True(c.level == Levels.Container ? e.Container is not null : e.Vm is not null, $"{at}: entity not in a {c.level}");
                Assert.True(actuators.TryGetValue(c.target, out var target), $"{at}: unknown target actuator");
                Assert.True(target.Host != e.Host, $"{at}: target is the entity's own host");
                Assert.True(target.Levels.Contains(c.level), $"{at}: target does not offer {c.level}");
                break;
            default:
                Assert.Fail($"{at}: unknown level");
                break;
        }
    }

    private static string Render(int step, PlanDecision d)
    {
        var c = d.Command;
        var command = c is null
            ? "none"
            : string.Create(CultureInfo.InvariantCulture,
                $"{c.commandId} {c.detectionId} {EntityIds.Of(c.entity)} {c.level} {c.action} {c.source}->{c.target} {c.issuedAtNs}..{c.deadlineNs} dry={c.dryRun} [{string.Join(" | ", c.reasons)}]");
        return string.Create(CultureInfo.InvariantCulture, $"{step}: {command} / {string.Join(" | ", d.Reasons)}");
    }

    // ---- properties -------------------------------------------------------------------------

    [Fact]
    public void Invariants_hold_over_random_inventories_and_detection_orders() =>
        GenScenarioOneActuatorPerHost.Sample(
            s => { Run(s, check: true, redetectWhilePending: false); },
            iter: Iterations,
            print: s => s.ToString());

    [Fact]
    public void Invariants_hold_over_unrestricted_inventories_and_redetections() =>
        GenScenario.Sample(
            s => { Run(s, check: true); },
            iter: Iterations,
            print: s => s.ToString());

    [Fact]
    public void Same_inputs_in_the_same_order_give_identical_commands() =>
        GenScenario.Sample(
            s =>
            {
                var first = Run(s, check: false);
                var second = Run(s, check: false);
                Assert.Equal(first, second);
                Assert.Equal(first, Run(s, check: false, reverseInventory: true));
            },
            iter: Iterations / 2,
            print: s => s.ToString());

    // ---- the bugs, reduced to a few steps ---------------------------------------------------

    [Fact]
    public void A_failed_first_command_does_not_free_a_slot_a_second_pending_command_of_the_entity_holds()
    {
        var h = new PlannerHarness().With("a1", "h1", "2", Levels.Core);
        var first = h.Isolate(TestData.Process(101), Scopes.Core, "h1:1:r1");
        var second = h.Isolate(TestData.Process(101), Scopes.Core, "h1:2:r1");
        Assert.Equal(first.target, second.target);

        h.Planner.OnResult(PlannerHarness.Result(first, ResultStatus.Failed, "cgroup busy"));

        Assert.Equal("dc1/h1/pid/101", h.Book.Holder("a1", 2));
        var other = h.Planner.Plan(PlannerHarness.Detection(TestData.Process(102), Scopes.Core, "h1:3:r1"));
        Assert.Null(other.Command);
    }

    [Fact]
    public void Two_actuators_on_one_host_never_hand_that_host_to_two_suspects()
    {
        var h = new PlannerHarness()
            .With("a1", "h1", "", Levels.Container, Levels.Vm)
            .With("t1", "h2", "", Levels.Container)
            .With("hv2", "h2", "", Levels.Vm);
        var container = h.Isolate(TestData.Container("c1"), Scopes.Machine, "h1:1:r1");
        Assert.Equal("t1", container.target);

        var vm = h.Planner.Plan(PlannerHarness.Detection(TestData.Vm("v2"), Scopes.Vm, "h1:2:r1"));

        Assert.True(vm.Command is null, $"{vm.Command?.target} is on h2, which already hosts the moved container c1");
    }
}
