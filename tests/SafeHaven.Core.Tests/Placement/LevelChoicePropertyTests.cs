using CsCheck;
using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Tests.Placement;

/// <summary>
/// Property: over random inventories (which levels each agent announces, its pool, LLC groups and NUMA nodes) and random
/// sequences of detections of every scope, each command's level breaks the detection's scope, was announced by the agent
/// it goes to, and is the cheapest such level that still had a free slot, checked against an independent model of the slots.
/// </summary>
public sealed class LevelChoicePropertyTests
{
    private const int Iterations = 1500;

    internal sealed record Spec(string[] HostLevels, int[] Pool, int LlcSlots, int[] NodeIds, bool ContainerTarget, bool VmTarget,
        (int Scope, bool InContainer, bool InVm)[] Detections)
    {
        // Nodes of two CPUs each (node n: 2n, 2n+1), handed out only when both are in the pool, as the agent does.
        public Dictionary<int, CpuList> Nodes => NodeIds.Distinct().Where(n => new[] { 2 * n, 2 * n + 1 }.All(Pool.Contains))
            .ToDictionary(n => n, n => CpuList.Of([2 * n, 2 * n + 1]));

        public override string ToString() =>
            $"levels [{string.Join(",", HostLevels)}] pool {CpuList.Of(Pool)} llc {LlcSlots} nodes [{string.Join(",", NodeIds)}] container-target {ContainerTarget} vm-target {VmTarget}; " +
            string.Join("; ", Detections.Select(d => $"{Scopes.All[d.Scope]}{(d.InContainer ? " c" : "")}{(d.InVm ? " v" : "")}"));
    }

    private static readonly Gen<Spec> GenSpec =
        Gen.Select(Gen.Int[0, (1 << 6) - 1], Gen.Int[0, 255], Gen.Int[0, 3], Gen.Int[0, 3].Array[0, 3], Gen.Bool, Gen.Bool,
            Gen.Select(Gen.Int[0, Scopes.All.Count - 1], Gen.Bool, Gen.Bool).Array[1, 10])
        .Select((mask, pool, llc, nodes, ct, vt, ds) => new Spec(
            [.. Levels.All.Where((_, i) => (mask & (1 << i)) != 0)],
            [.. Enumerable.Range(0, 8).Where(c => (pool & (1 << c)) != 0)], llc, nodes, ct, vt, ds));

    [Fact]
    public void Every_command_takes_the_cheapest_announced_level_that_breaks_its_scope() =>
        GenSpec.Sample(Run, iter: Iterations, print: s => s.ToString());

    private static void Run(Spec spec)
    {
        var h = new PlannerHarness();
        var nodes = spec.Nodes;
        var host = new ActuatorInfo("a1", "dc1", "h1", new HashSet<string>(spec.HostLevels, StringComparer.Ordinal), CpuList.Of(spec.Pool))
        {
            LlcSlots = spec.LlcSlots, IsolationNodes = nodes,
        };
        h.Book.Upsert(host);
        var targets = new List<string>();
        if (spec.ContainerTarget)
        {
            h.Book.Upsert(new ActuatorInfo("t-c", "dc1", "h2", new HashSet<string>([Levels.Container], StringComparer.Ordinal), CpuList.Empty));
        }
        if (spec.VmTarget)
        {
            h.Book.Upsert(new ActuatorInfo("t-v", "dc1", "h3", new HashSet<string>([Levels.Vm], StringComparer.Ordinal), CpuList.Empty));
        }
        var model = new Model(spec, nodes);
        for (var i = 0; i < spec.Detections.Length; i++)
        {
            var (s, inContainer, inVm) = spec.Detections[i];
            var scope = Scopes.All[s];
            // Every detection is its own suspect group (a process of its own), so no two share a slot.
            var entity = new EntityRef { datacenter = "dc1", host = "h1", pid = 100 + i, container = inContainer ? $"c{i}" : null, vm = inVm ? $"v{i}" : null };
            var decision = h.Plan(PlannerHarness.Detection(entity, scope, $"d{i}"));
            var expected = model.Choose(scope, inContainer, inVm);
            var why = string.Join(" | ", decision.Reasons);
            Assert.True(expected == decision.Command?.level, $"detection {i} ({scope}): expected {expected ?? "none"}, planner chose {decision.Command?.level ?? "none"}: {why}");
            if (decision.Command is { } c)
            {
                Assert.True(Scopes.Breaks(scope, c.level), $"{c.level} does not break {scope}");
                Assert.Contains(c.level, h.Book.Find(c.source)!.Levels);
            }
        }
    }

    // The slots, kept independently of the book: which CPUs, LLC groups, nodes and target hosts are taken.
    private sealed class Model(Spec spec, Dictionary<int, CpuList> nodes)
    {
        private readonly HashSet<int> _cores = [];
        private readonly HashSet<int> _nodes = [];
        private readonly HashSet<string> _hosts = [];
        private int _llc;

        public string? Choose(string scope, bool inContainer, bool inVm)
        {
            // No host here carries a network segment label: a network-scope move is never possible (NetworkScopeTests covers labels).
            if (scope == Scopes.Network)
            {
                return null;
            }
            foreach (var level in Scopes.LevelsFor(scope))
            {
                if (Take(level, inContainer, inVm))
                {
                    return level;
                }
            }
            return null;
        }

        private bool Announced(string level) => spec.HostLevels.Contains(level);

        private bool Take(string level, bool inContainer, bool inVm)
        {
            switch (level)
            {
                case Levels.Smt:
                    return Announced(level);
                case Levels.Core:
                    if (!Announced(level))
                    {
                        return false;
                    }
                    var cpu = spec.Pool.Order().Where(c => !_cores.Contains(c) && !_nodes.Any(n => nodes[n].Contains(c))).Cast<int?>().FirstOrDefault();
                    return cpu is { } free && _cores.Add(free);
                case Levels.Llc:
                    return Announced(level) && spec.LlcSlots > 0 && _llc < spec.LlcSlots && ++_llc > 0;
                case Levels.Numa:
                    if (!Announced(level) || nodes.Count == 0)
                    {
                        return false;
                    }
                    var node = nodes.Keys.Order().Where(n => !_nodes.Contains(n) && !nodes[n].Cpus.Any(_cores.Contains)).Cast<int?>().FirstOrDefault();
                    return node is { } fresh && _nodes.Add(fresh);
                case Levels.Container:
                    return inContainer && Announced(level) && spec.ContainerTarget && _hosts.Add("h2");
                default:
                    return inVm && Announced(level) && spec.VmTarget && _hosts.Add("h3");
            }
        }
    }
}
