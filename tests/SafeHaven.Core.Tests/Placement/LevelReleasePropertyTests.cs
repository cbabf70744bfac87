using CsCheck;
using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Tests.Placement;

/// <summary>
/// Property: over random hosts (which on-host levels the agent announces, its pool, LLC groups and NUMA nodes) and random
/// detections of the on-host scopes, isolating everything and then releasing it on quiet signals gives every resource back:
/// each release names the slot's own level and target, the book ends empty, a book rebuilt from the ledger records alone
/// agrees with it at every step, and the same detections of new processes then get exactly the first round's slots.
/// </summary>
public sealed class LevelReleasePropertyTests
{
    private const int Iterations = 800;
    private static readonly string[] OnHostScopes = [Scopes.Smt, Scopes.Core, Scopes.Llc, Scopes.Memory];

    internal sealed record Spec(string[] HostLevels, int[] Pool, int LlcSlots, int[] NodeIds, int[] Scopes)
    {
        public Dictionary<int, CpuList> Nodes => NodeIds.Distinct().Where(n => new[] { 2 * n, 2 * n + 1 }.All(Pool.Contains))
            .ToDictionary(n => n, n => CpuList.Of([2 * n, 2 * n + 1]));

        public override string ToString() =>
            $"levels [{string.Join(",", HostLevels)}] pool {CpuList.Of(Pool)} llc {LlcSlots} nodes [{string.Join(",", NodeIds)}]; " +
            string.Join(",", Scopes.Select(s => OnHostScopes[s]));
    }

    private static readonly Gen<Spec> GenSpec =
        Gen.Select(Gen.Int[1, (1 << 4) - 1], Gen.Int[0, 255], Gen.Int[0, 3], Gen.Int[0, 3].Array[0, 3], Gen.Int[0, OnHostScopes.Length - 1].Array[1, 8])
        .Select((mask, pool, llc, nodes, scopes) => new Spec(
            [.. Levels.OnHost.Where((_, i) => (mask & (1 << i)) != 0)],
            [.. Enumerable.Range(0, 8).Where(c => (pool & (1 << c)) != 0)], llc, nodes, scopes));

    [Fact]
    public void Releasing_every_isolation_gives_every_slot_back() =>
        GenSpec.Sample(Run, iter: Iterations, print: s => s.ToString());

    private static void Run(Spec spec)
    {
        var h = new PlannerHarness();
        h.Book.Upsert(new ActuatorInfo("a1", "dc1", "h1", new HashSet<string>(spec.HostLevels, StringComparer.Ordinal), CpuList.Of(spec.Pool))
        {
            LlcSlots = spec.LlcSlots, IsolationNodes = spec.Nodes,
        });
        var replica = new PlacementBook();
        var first = Round(h, replica, spec, pidBase: 100);
        Assert.Empty(h.Book.Held);
        Assert.Empty(replica.Held);
        var second = Round(h, replica, spec, pidBase: 200);
        Assert.Equal(first, second);
    }

    // Isolates one process per detection, then releases each; returns each detection's (level, target), null when none.
    private static List<(string Level, string Target)?> Round(PlannerHarness h, PlacementBook replica, Spec spec, int pidBase)
    {
        var chosen = new List<(string Level, string Target)?>();
        var isolated = new List<(EntityRef Entity, IsolationCommand Command)>();
        for (var i = 0; i < spec.Scopes.Length; i++)
        {
            var entity = new EntityRef { datacenter = "dc1", host = "h1", pid = pidBase + i };
            var decision = Follow(h, replica, h.Plan(PlannerHarness.Detection(entity, OnHostScopes[spec.Scopes[i]], $"d{pidBase + i}")));
            chosen.Add(decision.Command is { } c ? (c.level, c.target!) : null);
            if (decision.Command is { } command)
            {
                Follow(h, replica, h.Planner.OnResult(PlannerHarness.Result(command, ResultStatus.Succeeded)));
                isolated.Add((entity, command));
            }
        }
        foreach (var (entity, command) in isolated)
        {
            var quiet = PlannerHarness.Detection(entity, OnHostScopes[0], $"q{entity.pid}");
            quiet.kind = DetectionKinds.Quiet;
            var release = Follow(h, replica, h.Planner.Plan(quiet)).Command;
            Assert.True(release is not null, $"no release for {entity.pid} at level {command.level}");
            Assert.Equal((Actions.Release, command.level, command.target, command.source, command.group),
                (release.action, release.level, release.target, release.source, release.group));
            Follow(h, replica, h.Planner.OnResult(PlannerHarness.Result(release, ResultStatus.Succeeded)));
        }
        return chosen;
    }

    // Applies the decision's ledger records to the replica, as a standby planner reading the topic would, and compares.
    private static PlanDecision Follow(PlannerHarness h, PlacementBook replica, PlanDecision decision)
    {
        foreach (var record in decision.Ledger ?? [])
        {
            replica.Apply(record);
        }
        Assert.Equal(h.Book.Render(), replica.Render());
        return decision;
    }
}
