using System.Globalization;
using SafeHaven.Cli.Tests.Pipeline;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Embedded;
using Xunit.Abstractions;

namespace SafeHaven.Cli.Tests.Commands;

/// <summary>
/// A role whose loop dies takes its process down with exit code 1 within 5 s, so a supervisor restarts it (issue 10:
/// a role stopped by one record kept its process up, and it later exited 0).
/// </summary>
public sealed class RoleDeathTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan ExitBound = TimeSpan.FromSeconds(5);
    private readonly Workloads _w = new();

    [SkippableFact]
    public async Task A_planner_whose_topics_are_missing_dies_and_its_process_exits_1_within_5_s()
    {
        // A real fault, deterministic: a cluster where only the ledger topic exists. The planner takes the lease,
        // rebuilds the (empty) ledger, and its loop dies when it cannot assign the detections it must read.
        using var broker = EmbeddedBroker.Start();
        var prefix = "death" + Guid.NewGuid().ToString("N")[..8] + ".";
        broker.CreateTopic(prefix + "placements", 1);
        var keys = Path.Join(_w.Dir.FullName, "keys");
        Assert.Equal(0, (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "keys", "generate", "--dir", keys)).ExitCode);

        var plan = RoleProcess.Start(_w, ["plan", "--bootstrap", broker.BootstrapServers, "--topic-prefix", prefix, "--signing-key", keys, "--allow-unsealed", "detections,inventory,results"]);
        var died = await plan.LineAsync("does not exist", TimeSpan.FromSeconds(60));
        var exited = await plan.ExitAsync(TimeSpan.FromSeconds(30));

        output.WriteLine($"plan: exit {plan.Process.ExitCode} {(exited - died).TotalMilliseconds:F0} ms after its loop died");
        Assert.True(plan.Process.ExitCode == 1, $"exit {plan.Process.ExitCode}; stderr:\n{plan.Stderr}");
        Assert.True(exited - died < ExitBound, $"exited {(exited - died).TotalSeconds:F1} s after the death");
        Assert.Contains("a role died", plan.Stderr, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Up_exits_1_within_5_s_when_one_of_its_roles_dies_and_the_others_run_on()
    {
        Skip.If(Environment.UserName != "root" || !Directory.Exists("/sys/fs/cgroup/cpuset"), "up's host actuator needs root and a cgroup v1 cpuset hierarchy");
        var rules = Path.Join(_w.Dir.FullName, "rules.yaml");
        await File.WriteAllTextAsync(rules, "rules:\n  - name: storm\n    counter: context-switches\n    threshold: 100000000\n    scope: core\n");
        var keys = Path.Join(_w.Dir.FullName, "keys");
        Assert.Equal(0, (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "keys", "generate", "--dir", keys)).ExitCode);
        var idle = _w.Setsid("sleep", "600").Id.ToString(CultureInfo.InvariantCulture);

        // The host actuator's consume loop throws as it starts; probe, detector and planner in the same process do not.
        var up = RoleProcess.Start(_w,
            ["up", "--rules", rules, "--isolation-cpus", "1", "--cgroup", _w.Cgroup, "--period", "500ms", "--signing-key", keys,
                "--state-dir", Path.Join(_w.Dir.FullName, "state"), "--pid", idle],
            (FaultInjection.Variable, "actuator"));
        var died = await up.LineAsync("fault injected", TimeSpan.FromSeconds(90));
        var exited = await up.ExitAsync(TimeSpan.FromSeconds(30));

        output.WriteLine($"up: exit {up.Process.ExitCode} {(exited - died).TotalMilliseconds:F0} ms after the actuator's loop died");
        Assert.True(up.Process.ExitCode == 1, $"exit {up.Process.ExitCode}; stderr:\n{up.Stderr}");
        Assert.True(exited - died < ExitBound, $"exited {(exited - died).TotalSeconds:F1} s after the death");
        Assert.Contains("a role died", up.Stderr, StringComparison.Ordinal);
    }

    public void Dispose() => _w.Dispose();
}
