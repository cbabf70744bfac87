using System.Globalization;
using SafeHaven.Core;
using SafeHaven.Cli.Tests.Commands;
using SafeHaven.Cli.Tests.Pipeline;
using SafeHaven.Kafka.Telemetry;
using Xunit.Abstractions;

namespace SafeHaven.Cli.Tests.Telemetry;

/// <summary>
/// The <c>safehaven.mtd.*</c> instruments on the Prometheus endpoint of a running <c>up</c> whose <c>--config</c> has a
/// core-level moving-target schedule (docs/DESIGN.md §8): rounds come due, the first move is ordered and carried out by
/// the host agent (its result's phases land in the move histograms), and the rounds that find no spare CPU in the
/// one-CPU pool are counted as not placed.
/// </summary>
[Collection(PoolCpuTests.Name)]
public sealed class UpMovingTargetMetricsTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);
    private readonly Workloads _w = new();

    [SkippableFact]
    public async Task Up_with_a_core_schedule_in_its_config_counts_rounds_moves_and_rounds_without_a_cpu()
    {
        Skip.IfNot(Environment.UserName == "root", "moving processes between cpusets needs root");
        Skip.IfNot(Directory.Exists("/sys/fs/cgroup/cpuset"), "no cgroup v1 cpuset hierarchy on this host");
        Skip.If(Environment.ProcessorCount < 2, "a moving-target move needs a pool CPU besides the shared ones");
        // Given a quiet process (no rule can fire on it: every move is the schedule's) that a core schedule moves every
        // 2 s, and a pool of one CPU: the first move takes it, later rounds find no other free CPU
        var quiet = _w.Setsid("sleep", "600");
        var pid = quiet.Id.ToString(CultureInfo.InvariantCulture);
        var pool = CpuList.Of([Environment.ProcessorCount - 1]);
        var config = Path.Join(_w.Dir.FullName, "mtd.yaml");
        await File.WriteAllTextAsync(config, $"""
            SafeHaven:
              MovingTarget:
                Schedules:
                  - Name: metrics-mtd
                    Level: core
                    Period: "00:00:02"
                    Entities:
                      - Host: {Environment.MachineName}
                        Pid: {pid}
            """);
        var rules = Path.Join(_w.Dir.FullName, "rules.yaml");
        await File.WriteAllTextAsync(rules, "rules:\n  - name: storm\n    counter: context-switches\n    threshold: 2000\n    scope: core\n");
        var port = Scrape.FreePort();
        using var scrape = new Scrape(port);
        var up = RoleProcess.Start(_w, ["up", "--pid", pid, "--rules", rules, "--isolation-cpus", pool.ToString(), "--cgroup", _w.Cgroup,
            "--period", "500ms", "--state-dir", Path.Join(_w.Dir.FullName, "state"), "--duration", "3m", "--config", config,
            "--metrics-port", port.ToString(CultureInfo.InvariantCulture)]);
        await up.LineAsync("metrics and health:", Deadline);

        // When the schedule runs
        var now = "";
        double V(string instrument) => Scrape.Value(now, instrument);
        double Succeeded() => Scrape.Series(now, SafeHavenMetrics.ActuatorCommands)
            .Where(s => s.Labels.Contains("level=\"core\"", StringComparison.Ordinal) && s.Labels.Contains("outcome=\"succeeded\"", StringComparison.Ordinal)).Sum(s => s.Value);
        await RoleWait.Until(async () =>
            {
                now = (await scrape.GetAsync("metrics"))?.Body ?? now;
                return V(SafeHavenMetrics.MovingTargetMigrations) >= 1 && Succeeded() >= 1 && V(SafeHavenMetrics.ActuatorPhaseDuration) > 0
                    && V(SafeHavenMetrics.MovingTargetUnplaced) >= 1 && V(SafeHavenMetrics.MovingTargetRounds) >= 2;
            },
            () => $"rounds {V(SafeHavenMetrics.MovingTargetRounds)}, moves ordered {V(SafeHavenMetrics.MovingTargetMigrations)}, not placed "
                + $"{V(SafeHavenMetrics.MovingTargetUnplaced)}, core moves succeeded {Succeeded()}, phases {V(SafeHavenMetrics.ActuatorPhaseDuration)}", up, Deadline);

        // Then each round is either a move or counted as not placed (a scrape may fall between a round and its
        // outcome), the moves are the schedule's (nothing was detected), and the process sits on the pool CPU
        output.WriteLine($"rounds {V(SafeHavenMetrics.MovingTargetRounds)}, ordered {V(SafeHavenMetrics.MovingTargetMigrations)}, not placed "
            + $"{V(SafeHavenMetrics.MovingTargetUnplaced)}, core results succeeded {Succeeded()}, phases: "
            + string.Join(", ", Scrape.Series(now, SafeHavenMetrics.ActuatorPhaseDuration).Select(s => $"{s.Labels} {s.Value}")));
        var outcomes = V(SafeHavenMetrics.MovingTargetMigrations) + V(SafeHavenMetrics.MovingTargetUnplaced);
        Assert.InRange(V(SafeHavenMetrics.MovingTargetRounds), outcomes, outcomes + 1);
        Assert.Equal(0d, V(SafeHavenMetrics.DetectorDetections));
        Assert.Contains(Scrape.Series(now, SafeHavenMetrics.ActuatorPhaseDuration), s => s.Labels.Contains("level=\"core\"", StringComparison.Ordinal)
            && s.Labels.Contains("phase=\"", StringComparison.Ordinal));
        Assert.True(Workloads.OnPool(quiet.Id, pool), $"pid {pid} is not on the pool CPU {pool} after its move");
    }

    public void Dispose() => _w.Dispose();
}
