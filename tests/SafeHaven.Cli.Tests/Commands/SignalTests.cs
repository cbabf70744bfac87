using System.Diagnostics;
using SafeHaven.Cli.Tests.Pipeline;

namespace SafeHaven.Cli.Tests.Commands;

/// <summary>A role stops when its supervisor sends SIGTERM, with the broker up (it used to log "shutting down" and run on).</summary>
public sealed class SignalTests : IDisposable
{
    private readonly Workloads _w = new();

    [SkippableTheory]
    [InlineData("actuate")]
    [InlineData("plan")]
    public async Task A_role_exits_on_SIGTERM(string verb)
    {
        Skip.IfNot(File.Exists("/bin/kill"), "needs /bin/kill to send SIGTERM");
        var broker = _w.Start(CliRunner.StartInfo("broker"), drained: false);
        var bootstrap = (await broker.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)))!["bootstrap: ".Length..];
        var keys = Path.Join(_w.Dir.FullName, "keys");
        Assert.Equal(0, (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "keys", "generate", "--dir", keys)).ExitCode);
        string[] args = verb == "plan"
            ? ["plan", "--bootstrap", bootstrap, "--signing-key", keys]
            : ["actuate", "--bootstrap", bootstrap, "--trusted-keys", keys, "--cgroup", _w.Cgroup, "--state-dir", Path.Join(_w.Dir.FullName, "state"), "--id", "sigterm-test"];
        var role = _w.Start(CliRunner.StartInfo(args), drained: false);
        role.StandardInput.Close();
        var started = new TaskCompletionSource();
        role.ErrorDataReceived += (_, e) => { if (e.Data?.Contains("Application started", StringComparison.Ordinal) == true) { started.TrySetResult(); } };
        role.OutputDataReceived += (_, _) => { };
        role.BeginErrorReadLine();
        role.BeginOutputReadLine();
        await started.Task.WaitAsync(TimeSpan.FromSeconds(60));

        var clock = Stopwatch.StartNew();
        using (var kill = Process.Start("/bin/kill", ["-TERM", role.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await role.WaitForExitAsync(deadline.Token);

        Assert.True(role.ExitCode is 0 or 143, $"{verb} exited {role.ExitCode} after SIGTERM");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15));
    }

    public void Dispose() => _w.Dispose();
}
