using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Cli.Tests.Commands;
using SafeHaven.Cli.Tests.Pipeline;
using SafeHaven.Core;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.DeadLetters;
using SafeHaven.Kafka.Telemetry;
using SafeHaven.Kafka.Topics;
using SafeHaven.Probes.Hosting.Delivery;
using Xunit.Abstractions;

namespace SafeHaven.Cli.Tests.Telemetry;

/// <summary>
/// <c>--metrics-port</c> on a running <c>up</c> (the demo pipeline on the embedded broker, against a real noisy
/// process): the Prometheus endpoint shows each metric of docs/OPERATIONS.md move as the demo runs, and the health
/// endpoints go live, then ready. A budget skip, which the demo alone never causes, is caused here too (the noisy
/// process storms again after its release, within its hourly move budget). The metrics that move only on a moving-target
/// schedule or when the broker misbehaves: UpMovingTargetMetricsTests, UpBrokerFaultMetricsTests.
/// </summary>
[Collection(PoolCpuTests.Name)]
public sealed class MetricsEndpointTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);
    private readonly Workloads _w = new();

    [SkippableFact]
    public async Task Up_serves_each_metric_moving_as_the_demo_runs_and_goes_live_then_ready()
    {
        SkipUnlessCpusets();
        var noisy = await NoisyAsync();
        var port = Scrape.FreePort();
        using var scrape = new Scrape(port);
        var up = await StartUpAsync(noisy, port, "");

        // Health: not ready while the roles start (before their partitions are assigned), then live and ready
        var readiness = new List<(int Status, string Body)>();
        await Until(async () => await scrape.GetAsync("readyz") is { } r && Seen(readiness, r).Status == 200, () => "/readyz answering 200", up);
        Assert.Contains(readiness, r => r.Status == 503 && r.Body.Contains("\"ready\":false", StringComparison.Ordinal));
        var live = await scrape.GetAsync("healthz");
        Assert.Equal(200, live?.Status);
        output.WriteLine($"/readyz answers before ready: {readiness.Count(r => r.Status == 503)}; first: {readiness[0].Body}; a role's own: "
            + readiness.FirstOrDefault(r => r.Status == 503 && !r.Body.Contains("starting", StringComparison.Ordinal)).Body);

        // When the demo runs: the noisy process storms, and a record that is not a sample reaches the samples topic
        var before = (await scrape.GetAsync("metrics"))!.Value.Body;
        Go(noisy);
        var bootstrap = (await up.FirstStdoutLine.WaitAsync(TimeSpan.FromSeconds(10)))["bootstrap: ".Length..];
        using (var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = bootstrap }).Build())
        {
            await producer.ProduceAsync(new TopicNames().Samples, new Message<string, byte[]> { Key = "garbage", Value = [0xC3, 0x01, 0x02] });
        }

        // Then every counter and histogram grows, the ledger holds the slot, and lag is reported per partition
        string[] moving =
        [
            ProbeMetrics.SamplesPublishedName, SafeHavenMetrics.DetectorSamples, SafeHavenMetrics.DetectorBatches, SafeHavenMetrics.DetectorDetections,
            DeadLetterMetrics.SentName, SafeHavenMetrics.PlannerCommands, SafeHavenMetrics.ActuatorCommands, SafeHavenMetrics.ActuatorMoveDuration,
            SafeHavenMetrics.ActuatorPhaseDuration, SafeHavenMetrics.PlannerLedgerSlots, SafeHavenMetrics.SiemEvents,
        ];
        var now = before;
        await Until(async () =>
        {
            now = (await scrape.GetAsync("metrics"))?.Body ?? now;
            return moving.All(m => Scrape.Value(now, m) > Scrape.Value(before, m)) && Scrape.Series(now, ConsumerWatch.LagName).Any();
        }, () => "every metric moving: " + string.Join(", ", moving.Where(m => Scrape.Value(now, m) <= Scrape.Value(before, m))), up);
        foreach (var m in moving.Append(ConsumerWatch.LagName))
        {
            output.WriteLine($"{m}: {Scrape.Value(before, m)} -> {Scrape.Value(now, m)}");
        }
        output.WriteLine("families: " + string.Join(' ', now.Split('\n').Where(l => l.StartsWith("safehaven_", StringComparison.Ordinal))
            .Select(l => l.Split('{', ' ')[0]).Distinct()));
        Assert.Contains(Scrape.Series(now, SafeHavenMetrics.ActuatorCommands), s => s.Labels.Contains("level=\"core\"", StringComparison.Ordinal)
            && s.Labels.Contains("outcome=\"succeeded\"", StringComparison.Ordinal));
        Assert.Contains(Scrape.Series(now, DeadLetterMetrics.SentName), s => s.Labels.Contains("reason=\"", StringComparison.Ordinal)
            && s.Labels.Contains("component=\"detector\"", StringComparison.Ordinal));
        Assert.Contains(Scrape.Series(now, SafeHavenMetrics.ActuatorPhaseDuration), s => s.Labels.Contains("phase=\"", StringComparison.Ordinal));
        Assert.All(Scrape.Series(now, ConsumerWatch.LagName), s => Assert.True(s.Value >= 0, $"negative lag {s.Value} for {s.Labels}"));
        Assert.Equal(200, (await scrape.GetAsync("readyz"))?.Status);
    }

    [SkippableFact]
    public async Task Up_counts_a_budget_skip_when_a_released_process_storms_again_within_its_hourly_move_budget()
    {
        SkipUnlessCpusets();
        Skip.IfNot(File.Exists("/bin/kill"), "needs /bin/kill to stop and continue the noisy process");
        // Given up whose planner may move an entity once an hour and has no cooldown (so only the budget can refuse a
        // move), and a rule that releases an entity 2 s after its rate falls below the clear bound
        var config = Path.Join(_w.Dir.FullName, "budget.yaml");
        await File.WriteAllTextAsync(config, "SafeHaven:\n  Planner:\n    MovesPerEntityPerHour: 1\n    Cooldown: \"00:00:00\"\n");
        var noisy = await NoisyAsync();
        var port = Scrape.FreePort();
        using var scrape = new Scrape(port);
        var up = await StartUpAsync(noisy, port, "    cooldown: 1s\n    clearBelow: 1000\n    releaseAfter: 2s\n", "--config", config);
        await Until(async () => (await scrape.GetAsync("readyz"))?.Status == 200, () => "/readyz answering 200", up);
        var now = "";
        async Task<bool> Scraped(Func<string, bool> condition) => condition(now = (await scrape.GetAsync("metrics"))?.Body ?? now);
        double Commands(string action) => Scrape.Series(now, SafeHavenMetrics.PlannerCommands)
            .Where(s => s.Labels.Contains($"action=\"{action}\"", StringComparison.Ordinal)).Sum(s => s.Value);
        double Succeeded() => Scrape.Series(now, SafeHavenMetrics.ActuatorCommands)
            .Where(s => s.Labels.Contains("outcome=\"succeeded\"", StringComparison.Ordinal)).Sum(s => s.Value);

        // When it storms and is isolated (the entity's one move this hour), then goes quiet (SIGSTOP) and is released
        Go(noisy);
        await Until(() => Scraped(_ => Commands(Actions.Isolate) >= 1 && Succeeded() >= 1), () => "the storm isolated", up);
        await Signal(noisy, "STOP");
        await Until(() => Scraped(m => Commands(Actions.Release) >= 1 && Succeeded() >= 2 && Scrape.Value(m, SafeHavenMetrics.PlannerLedgerSlots) == 0),
            () => $"the quiet process released (release commands {Commands(Actions.Release)}, succeeded {Succeeded()})", up);
        Assert.Equal(0d, Scrape.Value(now, SafeHavenMetrics.PlannerBudgetSkips));

        // And storms again (SIGCONT): a new detection of the same process, which the spent budget must refuse
        await Signal(noisy, "CONT");
        await Until(() => Scraped(m => Scrape.Value(m, SafeHavenMetrics.PlannerBudgetSkips) > 0), () => "a budget skip", up);

        // Then the skip is counted at the core level, the planner names the per-entity budget, and nothing moved again
        output.WriteLine($"budget skips {Scrape.Value(now, SafeHavenMetrics.PlannerBudgetSkips)}; isolate {Commands(Actions.Isolate)}, release {Commands(Actions.Release)}");
        Assert.Contains(Scrape.Series(now, SafeHavenMetrics.PlannerBudgetSkips), s => s.Labels.Contains("level=\"core\"", StringComparison.Ordinal) && s.Value > 0);
        Assert.Contains("budget of 1 moves per entity per hour spent", up.Stderr, StringComparison.Ordinal);
        Assert.Equal(1d, Commands(Actions.Isolate));
    }

    private static void SkipUnlessCpusets()
    {
        Skip.IfNot(Environment.UserName == "root", "moving processes between cpusets needs root");
        Skip.IfNot(Directory.Exists("/sys/fs/cgroup/cpuset"), "no cgroup v1 cpuset hierarchy on this host");
        Skip.If(Environment.ProcessorCount < 2, "isolation needs at least 2 CPUs");
    }

    private async Task<Process> NoisyAsync()
    {
        var noisy = _w.Start(CliRunner.StartInfo("workload", "noisy"), drained: false);
        Assert.Equal("ready", await noisy.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)));
        return noisy;
    }

    private static void Go(Process noisy)
    {
        noisy.StandardInput.WriteLine("go");
        noisy.StandardInput.Flush();
    }

    // up watching the noisy process with a storm rule (ruleTail: more keys of the rule), its metrics on port.
    private async Task<RoleProcess> StartUpAsync(Process noisy, int port, string ruleTail, params string[] extra)
    {
        var rules = Path.Join(_w.Dir.FullName, "rules.yaml");
        await File.WriteAllTextAsync(rules, "rules:\n  - name: storm\n    counter: context-switches\n    threshold: 2000\n    scope: core\n" + ruleTail);
        var up = RoleProcess.Start(_w, ["up", "--pid", noisy.Id.ToString(CultureInfo.InvariantCulture), "--rules", rules,
            "--isolation-cpus", CpuList.Of([Environment.ProcessorCount - 1]).ToString(), "--cgroup", _w.Cgroup, "--period", "500ms",
            "--state-dir", Path.Join(_w.Dir.FullName, "state"), "--duration", "3m", "--metrics-port", port.ToString(CultureInfo.InvariantCulture), .. extra]);
        // Tests wait for the endpoint's log line before any request, so the listener's start never sees a queued connection.
        await up.LineAsync("metrics and health:", Deadline);
        return up;
    }

    private static (int Status, string Body) Seen(List<(int, string)> seen, (int Status, string Body) answer)
    {
        seen.Add(answer);
        return answer;
    }

    private static Task Until(Func<Task<bool>> condition, Func<string> what, RoleProcess role) => RoleWait.Until(condition, what, role, Deadline);

    private static Task Signal(Process target, string signal) => RoleWait.Signal(target, signal);

    public void Dispose() => _w.Dispose();
}
