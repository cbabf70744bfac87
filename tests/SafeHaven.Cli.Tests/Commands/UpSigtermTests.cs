using System.Globalization;
using System.Text.RegularExpressions;
using SafeHaven.Cli.Runtime;
using SafeHaven.Cli.Tests.Pipeline;
using Xunit.Abstractions;

namespace SafeHaven.Cli.Tests.Commands;

/// <summary>
/// <c>safehaven up</c> asked to stop (SIGTERM) once it has moved a process: every role running, an isolation done. The
/// end-to-end run itself is <see cref="UpCommandTests"/> (a fixed --duration); this one proves the stop.
/// </summary>
[Collection(PoolCpuTests.Name)]
public sealed class UpSigtermTests(ITestOutputHelper output) : IDisposable
{
    // up's contract is an exit within RoleHost.StopExit (6 s, its watchdog) of the signal; the test allows ten times
    // that, as every step may take on a loaded 2-core CI machine. Measured (2026-12-05, load 19-42, 67 runs): the verb
    // returned 1.0-3.1 s after the signal; the process's whole exit, as its parent saw it, mostly 1.1-4.8 s.
    private static readonly TimeSpan ExitBound = RoleHost.StopExit * 10;

    private readonly Workloads _w = new();

    [SkippableFact]
    public async Task Up_exits_0_on_SIGTERM_after_its_move()
    {
        Skip.IfNot(Environment.UserName == "root", "moving processes between cpusets needs root");
        Skip.IfNot(Directory.Exists("/sys/fs/cgroup/cpuset"), "no cgroup v1 cpuset hierarchy on this host");
        Skip.If(Environment.ProcessorCount < 2, "isolation needs at least 2 CPUs");
        var state = Path.Join(_w.Dir.FullName, "state");

        // Given up, watching a process making a context-switch storm, has isolated it (journalled as done)
        var noisy = _w.Start(CliRunner.StartInfo("workload", "noisy"), drained: false);
        Assert.Equal("ready", await noisy.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)));
        noisy.StandardInput.WriteLine("go");
        noisy.StandardInput.Flush();
        using var rules = new CliRunner.TempFile("""
            rules:
              - name: storm
                counter: context-switches
                threshold: 2000
                scope: core
            """);
        var up = RoleProcess.Start(_w, ["up", "--pid", noisy.Id.ToString(CultureInfo.InvariantCulture), "--rules", rules.Path,
            "--isolation-cpus", (Environment.ProcessorCount - 1).ToString(CultureInfo.InvariantCulture), "--cgroup", _w.Cgroup,
            "--duration", "5m", "--period", "500ms", "--state-dir", state]);
        await Poll.For(() => Succeeded(state), TimeSpan.FromSeconds(120), () => $"a journalled succeeded command; up's stderr:\n{up.Stderr}");

        // When a supervisor asks it to stop
        var asked = await up.TerminateAsync();
        var exited = await up.ExitAsync(ExitBound);

        // Then it exits 0 within the bound
        output.WriteLine($"exit {(exited - asked).TotalSeconds:F2} s after SIGTERM; load {File.ReadAllText("/proc/loadavg").Trim()}");
        Assert.True(up.Process.ExitCode == 0, $"up exited {up.Process.ExitCode} {(exited - asked).TotalSeconds:F1} s after SIGTERM; stderr: {up.Stderr}");
    }

    // The journal's text once it holds a succeeded command, else null.
    private static string? Succeeded(string state)
    {
        var journal = Directory.Exists(state) ? Directory.GetFiles(state, "executed-commands", SearchOption.AllDirectories).FirstOrDefault() : null;
        var text = journal is null ? null : File.ReadAllText(journal);
        return text is not null && Regex.IsMatch(text, @"\ndone\tc-\S+\tsucceeded\n") ? text : null;
    }

    public void Dispose() => _w.Dispose();
}
