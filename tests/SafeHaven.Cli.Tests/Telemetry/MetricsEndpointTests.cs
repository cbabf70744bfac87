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
/// endpoints go live, then ready.
/// </summary>
[Collection(PoolCpuTests.Name)]
public sealed class MetricsEndpointTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);
    private readonly Workloads _w = new();

    [SkippableFact]
    public async Task Up_serves_each_metric_moving_as_the_demo_runs_and_goes_live_then_ready()
    {
        Skip.IfNot(Environment.UserName == "root", "moving processes between cpusets needs root");
        Skip.IfNot(Directory.Exists("/sys/fs/cgroup/cpuset"), "no cgroup v1 cpuset hierarchy on this host");
        Skip.If(Environment.ProcessorCount < 2, "isolation needs at least 2 CPUs");
        var pool = CpuList.Of([Environment.ProcessorCount - 1]);
        var noisy = _w.Start(CliRunner.StartInfo("workload", "noisy"), drained: false);
        Assert.Equal("ready", await noisy.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)));
        var rules = Path.Join(_w.Dir.FullName, "rules.yaml");
        await File.WriteAllTextAsync(rules, "rules:\n  - name: storm\n    counter: context-switches\n    threshold: 2000\n    scope: core\n");
        var port = Scrape.FreePort();
        var up = RoleProcess.Start(_w, ["up", "--pid", noisy.Id.ToString(CultureInfo.InvariantCulture), "--rules", rules, "--isolation-cpus", pool.ToString(),
            "--cgroup", _w.Cgroup, "--period", "500ms", "--state-dir", Path.Join(_w.Dir.FullName, "state"), "--duration", "3m",
            "--metrics-port", port.ToString(CultureInfo.InvariantCulture)]);
        using var scrape = new Scrape(port);
        // No request before the listener is up: .NET's HttpListener can fail to start when a connection is already
        // queued as it first accepts (a race in HttpEndPointListener's constructor, seen once in three runs here).
        await up.LineAsync("metrics and health:", Deadline);

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
        noisy.StandardInput.WriteLine("go");
        noisy.StandardInput.Flush();
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
            SafeHavenMetrics.ActuatorPhaseDuration, SafeHavenMetrics.PlannerLedgerSlots,
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

    private static (int Status, string Body) Seen(List<(int, string)> seen, (int Status, string Body) answer)
    {
        seen.Add(answer);
        return answer;
    }

    private static async Task Until(Func<Task<bool>> condition, Func<string> what, RoleProcess up)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.False(up.Process.HasExited, $"up exited {(up.Process.HasExited ? up.Process.ExitCode : 0)} waiting for {what()}; stderr:\n{up.Stderr}");
            Assert.True(clock.Elapsed < Deadline, $"timed out after {Deadline.TotalSeconds} s waiting for {what()}; up's stderr:\n{up.Stderr}");
            await Task.Delay(50);
        }
    }

    public void Dispose() => _w.Dispose();
}
