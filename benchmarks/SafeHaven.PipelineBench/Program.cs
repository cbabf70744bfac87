using System.Globalization;
using Microsoft.Extensions.Logging;
using SafeHaven.PipelineBench;

// Pipeline benchmarks on the embedded broker (loopback only). Usage:
//   throughput [samples] [--per-record N (samples per SampleBatch record; 0 = one CounterSample per record)] [--seal none|mac|ed25519] [--poll-ms N] [--max-poll-records N] [--commit-ms N] [--fetch-wait-ms N]
//   latency [rate] [seconds] [--crossings N] [--hosts N] [--linger N]
//   planner [detections] [--hosts N] [--warm-up N] [--default-budgets]
//   actuator [commands] [--processes N]   (root, cgroup v1 cpuset, 2+ CPUs)
// Bounded: a watchdog ends the process whatever happens (a hung StartAsync included): 5 minutes, or for a latency run
// its own length plus 3 minutes; the run itself is cancelled a minute before the watchdog fires.
var bound = LatencyRunBound(args) ?? TimeSpan.FromMinutes(5);
using var watchdog = new Timer(_ =>
{
    Console.Error.WriteLine($"pipeline bench: {bound.TotalMinutes:F0} min watchdog fired, exiting");
    Environment.Exit(3);
}, null, bound, Timeout.InfiniteTimeSpan);
using var cts = new CancellationTokenSource(bound - TimeSpan.FromMinutes(1));
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };

var positional = args.TakeWhile(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
string? Flag(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
int? IntFlag(string name) => Flag(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : null;
int Pos(int i, int fallback) => positional.Count > i ? int.Parse(positional[i], CultureInfo.InvariantCulture) : fallback;

// Streamiz logs per-record noise below Warning (docs/MACHINE.md).
using var loggers = LoggerFactory.Create(b => b.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace).SetMinimumLevel(LogLevel.Warning));
Console.WriteLine($"load: {File.ReadAllText("/proc/loadavg").Trim()}");
switch (positional.FirstOrDefault())
{
    case "throughput":
        await ThroughputBench.RunAsync(Pos(1, 100_000), IntFlag("--per-record") ?? 100,
            new StreamTuning(IntFlag("--poll-ms"), IntFlag("--max-poll-records"), IntFlag("--commit-ms"), IntFlag("--fetch-wait-ms")),
            Flag("--seal") ?? "none", loggers, cts.Token);
        break;
    case "latency":
        await LatencyBench.RunAsync(new LatencyPlan(Rate: Pos(1, 10_000), Seconds: Pos(2, 30),
            Hosts: IntFlag("--hosts") ?? 200, CrossingsPerSecond: IntFlag("--crossings") ?? 20, SampleLingerMs: IntFlag("--linger")), LogLevel.Warning, cts.Token);
        break;
    case "planner":
        await PlannerBench.RunAsync(new PlannerPlan(Detections: Pos(1, 10_000), Hosts: IntFlag("--hosts") ?? 10_000,
            WarmUp: IntFlag("--warm-up") ?? 1000, DefaultBudgets: args.Contains("--default-budgets")), cts.Token);
        break;
    case "actuator":
        await ActuatorBench.RunAsync(Pos(1, 2000), IntFlag("--processes") ?? 4, cts.Token);
        break;
    default:
        Console.Error.WriteLine("usage: throughput [samples] [--per-record N] [--seal none|mac|ed25519] [--poll-ms N] [--max-poll-records N] [--commit-ms N] [--fetch-wait-ms N] | latency [rate] [seconds] [--crossings N] [--hosts N] [--linger N] | planner [detections] [--hosts N] [--warm-up N] [--default-budgets] | actuator [commands] [--processes N]");
        return 2;
}
Console.WriteLine($"load: {File.ReadAllText("/proc/loadavg").Trim()}");
return 0;

// A latency run longer than the default bound (issue 11's 15-minute run) gets its duration plus 3 minutes for start,
// warm-up and drain; every other run keeps the 5-minute bound.
static TimeSpan? LatencyRunBound(string[] args)
{
    var positional = args.TakeWhile(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
    return positional.FirstOrDefault() == "latency" && positional.Count > 2 &&
        int.TryParse(positional[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds) && seconds > 60
            ? TimeSpan.FromSeconds(seconds) + TimeSpan.FromMinutes(3)
            : null;
}
