using System.Globalization;
using System.Text.RegularExpressions;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Cli.Tests.Pipeline;
using SafeHaven.Core;

namespace SafeHaven.Cli.Tests.Commands;

/// <summary><c>safehaven up</c>: every role in one process on the embedded broker, against a real noisy process.</summary>
[Collection(SafeHaven.Cli.Tests.Pipeline.PoolCpuTests.Name)]
public sealed class UpCommandTests : IDisposable
{
    private readonly Workloads _w = new();

    [SkippableFact]
    public async Task Up_detects_and_isolates_a_watched_noisy_process()
    {
        Skip.IfNot(Environment.UserName == "root", "moving processes between cpusets needs root");
        Skip.IfNot(Directory.Exists("/sys/fs/cgroup/cpuset"), "no cgroup v1 cpuset hierarchy on this host");
        Skip.If(Environment.ProcessorCount < 2, "isolation needs at least 2 CPUs");
        var pool = CpuList.Of([Environment.ProcessorCount - 1]);
        var state = Path.Join(_w.Dir.FullName, "state");

        // Given a process making a context-switch storm
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

        // When up watches it until its move is journalled as done, then is asked to stop. Not for a fixed time: this
        // test once gave up 8 s (--duration) for the broker's start, the lease, the detection and the move, which an
        // idle machine fits in but a loaded one (CI runs every project on 2 cores) need not.
        var up = RoleProcess.Start(_w, ["up", "--pid", noisy.Id.ToString(CultureInfo.InvariantCulture), "--rules", rules.Path,
            "--isolation-cpus", pool.ToString(), "--cgroup", _w.Cgroup, "--duration", "5m", "--period", "500ms", "--state-dir", state]);
        var bootstrap = await up.FirstStdoutLine.WaitAsync(TimeSpan.FromSeconds(90));
        var journalled = await Poll.For(() => Succeeded(state), TimeSpan.FromSeconds(120), () => $"a journalled succeeded command; up's stderr:\n{up.Stderr}");
        await up.TerminateAsync();
        await up.ExitAsync(TimeSpan.FromSeconds(30));

        // Then it ran on the embedded broker, journalled the command it executed, and every
        // thread of the process is now on the pool only
        Assert.True(up.Process.ExitCode == 0, $"up exited {up.Process.ExitCode}; stderr: {up.Stderr}");
        Assert.StartsWith("bootstrap: ", bootstrap, StringComparison.Ordinal);
        Assert.Contains($"pid {noisy.Id} enrolled", up.Stderr, StringComparison.Ordinal);
        Assert.Single(Directory.GetFiles(state, "executed-commands", SearchOption.AllDirectories));
        Assert.Matches(@"^start\tc-\S+\tcore\tisolate\t", journalled);
        var check = ThreadVerifier.Verify(noisy.Id, pool);
        Assert.True(check.Ok, $"thread {check.Tid} allowed on {check.Actual}, expected {pool}; stderr: {up.Stderr}");
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
