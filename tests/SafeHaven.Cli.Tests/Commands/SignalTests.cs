using System.Globalization;
using SafeHaven.Cli.Tests.Pipeline;
using Xunit.Abstractions;

namespace SafeHaven.Cli.Tests.Commands;

/// <summary>
/// Every long-running verb stops within 10 s of SIGTERM and exits 0, with the broker up or gone (issue 10: roles
/// logged "shutting down" and ran on until SIGKILL).
/// </summary>
public sealed class SignalTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan StopBound = TimeSpan.FromSeconds(10);
    private readonly Workloads _w = new();

    [SkippableTheory]
    [InlineData("broker", false)]
    [InlineData("probe", false)]
    [InlineData("probe", true)]
    [InlineData("detect", false)]
    [InlineData("detect", true)]
    [InlineData("plan", false)]
    [InlineData("plan", true)]
    [InlineData("actuate", false)]
    [InlineData("actuate", true)]
    [InlineData("container", false)]
    [InlineData("container", true)]
    [InlineData("hypervisor", false)]
    [InlineData("hypervisor", true)]
    [InlineData("up", false)]
    [InlineData("up", true)]
    public async Task A_role_exits_0_within_10_s_of_SIGTERM(string verb, bool brokerGone)
    {
        Skip.IfNot(File.Exists("/bin/kill"), "needs /bin/kill to send SIGTERM");
        if (verb is "actuate" or "up")
        {
            // The host actuator makes its cpuset parent at start; without cgroup v1 cpuset and root it cannot start here.
            Skip.If(Environment.UserName != "root" || !Directory.Exists("/sys/fs/cgroup/cpuset"), $"{verb} needs root and a cgroup v1 cpuset hierarchy");
        }
        RoleProcess? broker = null;
        var bootstrap = "";
        if (verb != "broker")
        {
            broker = RoleProcess.Start(_w, ["broker"]);
            bootstrap = await BootstrapAsync(broker);
        }
        var role = RoleProcess.Start(_w, await ArgsAsync(verb, bootstrap));
        await role.LineAsync(verb == "broker" ? "embedded broker:" : "Application started", TimeSpan.FromSeconds(90));
        if (brokerGone)
        {
            broker!.Process.Kill();
            await broker.ExitAsync(TimeSpan.FromSeconds(10));
        }

        var sent = await role.TerminateAsync();
        var exited = await role.ExitAsync(TimeSpan.FromSeconds(30));

        output.WriteLine($"{verb} (broker {(brokerGone ? "gone" : "up")}): exit {role.Process.ExitCode} {(exited - sent).TotalMilliseconds:F0} ms after SIGTERM");
        Assert.True(role.Process.ExitCode == 0, $"{verb} exited {role.Process.ExitCode} after SIGTERM; stderr:\n{role.Stderr}");
        Assert.True(exited - sent < StopBound, $"{verb} took {(exited - sent).TotalSeconds:F1} s to stop");
    }

    private static async Task<string> BootstrapAsync(RoleProcess broker)
    {
        var line = await broker.FirstStdoutLine.WaitAsync(TimeSpan.FromSeconds(60));
        return line?.StartsWith("bootstrap: ", StringComparison.Ordinal) == true ? line["bootstrap: ".Length..]
            : throw new InvalidOperationException($"broker printed '{line}'; stderr:\n{broker.Stderr}");
    }

    private async Task<string[]> ArgsAsync(string verb, string bootstrap)
    {
        var keys = Path.Join(_w.Dir.FullName, "keys");
        if (!Directory.Exists(keys))
        {
            Assert.Equal(0, (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "keys", "generate", "--dir", keys)).ExitCode);
            // detect runs the detector alone: it seals detections with a detector key.
            Assert.Equal(0, (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "keys", "generate", "--dir", keys, "--role", "detector", "--subject", "detector")).ExitCode);
        }
        var rules = Path.Join(_w.Dir.FullName, "rules.yaml");
        await File.WriteAllTextAsync(rules, "rules:\n  - name: storm\n    counter: context-switches\n    threshold: 100000000\n    scope: core\n");
        var state = Path.Join(_w.Dir.FullName, "state");
        // Watch only an idle process of this test's own: an up or probe watching every process would touch other tests' workloads.
        var idle = _w.Setsid("sleep", "600").Id.ToString(CultureInfo.InvariantCulture);
        var dir = Directory.CreateDirectory(Path.Join(_w.Dir.FullName, verb)).FullName;
        return verb switch
        {
            "broker" => ["broker"],
            "probe" => ["probe", "--bootstrap", bootstrap, "--counters", "context-switches", "--period", "500ms", "--pid", idle],
            "detect" => ["detect", "--bootstrap", bootstrap, "--rules", rules, "--signing-key", keys, "--allow-unsealed", "samples,detections,inventory,results"],
            "plan" => ["plan", "--bootstrap", bootstrap, "--signing-key", keys, "--allow-unsealed", "detections,inventory,results"],
            "actuate" => ["actuate", "--bootstrap", bootstrap, "--trusted-keys", keys, "--cgroup", _w.Cgroup, "--state-dir", state, "--id", "sigterm-actuate"],
            "container" => ["container", "--bootstrap", bootstrap, "--trusted-keys", keys, "--container-dir", dir, "--state-dir", state, "--id", "sigterm-container"],
            "hypervisor" => ["hypervisor", "--bootstrap", bootstrap, "--trusted-keys", keys, "--guest-dir", dir, "--state-dir", state, "--id", "sigterm-hv"],
            // The broker-up case runs up against the test's broker too, so "broker gone" and "broker up" differ only in the kill.
            "up" => ["up", "--bootstrap", bootstrap, "--rules", rules, "--isolation-cpus", "1", "--cgroup", _w.Cgroup, "--period", "500ms",
                "--state-dir", state, "--signing-key", keys, "--pid", idle],
            _ => throw new ArgumentOutOfRangeException(nameof(verb)),
        };
    }

    public void Dispose() => _w.Dispose();
}
