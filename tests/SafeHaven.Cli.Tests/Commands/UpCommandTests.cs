using System.Diagnostics;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Core;

namespace SafeHaven.Cli.Tests.Commands;

/// <summary><c>safehaven up</c>: every role in one process on the embedded broker, against a real noisy process.</summary>
[Collection(SafeHaven.Cli.Tests.Pipeline.PoolCpuTests.Name)]
public sealed class UpCommandTests : IDisposable
{
    private readonly string _cgroup = "safehaven-test-" + Guid.NewGuid().ToString("N")[..8];
    private readonly DirectoryInfo _state = Directory.CreateTempSubdirectory("safehaven-up-state-");
    private Process? _noisy;

    [SkippableFact]
    public async Task Up_detects_and_isolates_a_watched_noisy_process()
    {
        Skip.IfNot(Environment.UserName == "root", "moving processes between cpusets needs root");
        Skip.IfNot(Directory.Exists("/sys/fs/cgroup/cpuset"), "no cgroup v1 cpuset hierarchy on this host");
        Skip.If(Environment.ProcessorCount < 2, "isolation needs at least 2 CPUs");
        var pool = CpuList.Of([Environment.ProcessorCount - 1]);

        // Given a process making a context-switch storm
        _noisy = Process.Start(CliRunner.StartInfo("workload", "noisy"))!;
        Assert.Equal("ready", await _noisy.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)));
        _noisy.StandardInput.WriteLine("go");
        _noisy.StandardInput.Flush();
        using var rules = new CliRunner.TempFile("""
            rules:
              - name: storm
                counter: context-switches
                threshold: 2000
                scope: core
            """);

        // When up watches it for a while
        var run = await CliRunner.RunAsync(TimeSpan.FromMinutes(2), "up", "--pid", _noisy.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--rules", rules.Path, "--isolation-cpus", pool.ToString(), "--cgroup", _cgroup, "--duration", "8s", "--period", "500ms", "--state-dir", _state.FullName);

        // Then it ran on the embedded broker, journalled the command it executed, and every
        // thread of the process is now on the pool only
        Assert.True(run.ExitCode == 0, $"up exited {run.ExitCode}; stderr: {run.Stderr}");
        Assert.StartsWith("bootstrap: ", run.Stdout, StringComparison.Ordinal);
        Assert.Contains($"pid {_noisy.Id} enrolled", run.Stderr, StringComparison.Ordinal);
        var journal = Assert.Single(_state.GetFiles("executed-commands", SearchOption.AllDirectories));
        var journalled = File.ReadAllText(journal.FullName);
        Assert.Matches(@"^start\tc-\S+\tcore\tisolate\t", journalled);
        Assert.Matches(@"\ndone\tc-\S+\tsucceeded\n", journalled);
        var check = ThreadVerifier.Verify(_noisy.Id, pool);
        Assert.True(check.Ok, $"thread {check.Tid} allowed on {check.Actual}, expected {pool}; stderr: {run.Stderr}");
    }

    public void Dispose()
    {
        _state.Delete(recursive: true);
        if (_noisy is { HasExited: false })
        {
            _noisy.Kill(entireProcessTree: true);
            _noisy.WaitForExit(5000);
        }
        _noisy?.Dispose();
        if (Directory.Exists("/sys/fs/cgroup/cpuset/" + _cgroup))
        {
            CpusetDetector.Detect(_cgroup).Cleanup();
        }
    }
}
