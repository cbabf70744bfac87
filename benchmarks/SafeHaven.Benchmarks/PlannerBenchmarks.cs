using System.Globalization;
using BenchmarkDotNet.Attributes;
using SafeHaven.Core;
using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.Benchmarks;

/// <summary>
/// One planner decision in-process (SafeHaven.Core's <see cref="Planner.Plan"/>), per detection: a core-scope
/// detection of a process of its own, placed on an exclusive CPU of its host's pool. Each iteration starts from an
/// empty ledger over <see cref="Hosts"/> actuators and plans 1000 detections, so the figure is the mean over a
/// ledger growing from 0 to 1000 held slots. Budgets off: every decision is a command.
/// </summary>
[MemoryDiagnoser]
public class PlannerBenchmarks
{
    private const int Decisions = 1000;
    private Planner _planner = null!;
    private Detection[] _detections = [];

    [Params(100, 10_000)]
    public int Hosts { get; set; }

    [IterationSetup]
    public void Setup()
    {
        var book = new PlacementBook("bench");
        var pool = CpuList.Parse("1-" + ((Decisions / Hosts) + 2).ToString(CultureInfo.InvariantCulture));
        for (var h = 0; h < Hosts; h++)
        {
            var host = "h" + h.ToString(CultureInfo.InvariantCulture);
            book.Upsert(new ActuatorInfo("act-" + host, "dc1", host, new HashSet<string>([Levels.Core]), pool));
        }
        var now = TimeProvider.System.NowNs();
        _detections = [.. Enumerable.Range(0, Decisions).Select(j =>
        {
            var entity = new EntityRef { datacenter = "dc1", host = "h" + (j % Hosts).ToString(CultureInfo.InvariantCulture), pid = 2000 + (j / Hosts), startTime = 7 };
            var id = EntityIds.Of(entity);
            // The probe's inventory record of the process: its process group decides its slot.
            book.Tenants.Set(id, "dc1", entity.host, null, 7);
            book.Tenants.SetGroup(id, "pgid:" + entity.pid.Value.ToString(CultureInfo.InvariantCulture));
            return new Detection
            {
                detectionId = "m-" + j.ToString(CultureInfo.InvariantCulture), entity = entity, rule = "cs-storm", counter = "context-switches",
                rate = 50_000, threshold = 1000, scope = Scopes.Core, detectedAtNs = now, firstSampleAtNs = now - 1_000_000_000,
                kind = DetectionKinds.Detected,
            };
        })];
        _planner = new Planner(book, TimeProvider.System, new PlannerSettings(TimeSpan.FromMinutes(10), Policy: PlannerPolicy.Default with { Budgets = new MoveBudgets(0, 0, 0) }));
    }

    [Benchmark(OperationsPerInvoke = Decisions, Description = "planner: Plan one core-scope detection")]
    public int Plan()
    {
        var commands = 0;
        foreach (var d in _detections)
        {
            commands += _planner.Plan(d).Command is null ? 0 : 1;
        }
        return commands == Decisions ? commands : throw new InvalidOperationException($"{commands} commands of {Decisions}");
    }
}
