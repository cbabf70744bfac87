using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Core;
using Xunit.Abstractions;

namespace SafeHaven.Cli.Tests.Pipeline;

/// <summary>
/// Issue 9's scenario through <c>safehaven up</c> on a one-CPU pool: a channel of two processes started by a shell is
/// isolated in one slot (not the shell, not a benign process); when it exits the slot comes back, and the next
/// channel, of another process group, gets the same CPU.
/// </summary>
[Collection(SafeHaven.Cli.Tests.Pipeline.PoolCpuTests.Name)]
public sealed class UpLedgerTests(ITestOutputHelper output) : IDisposable
{
    private readonly Workloads _w = new();
    private readonly ConcurrentQueue<string> _log = new();

    [SkippableFact]
    public async Task Both_ends_of_a_channel_share_the_pool_cpu_its_shell_stays_and_the_slot_returns_when_they_exit()
    {
        Skip.If(Workloads.Unavailable() is not null, Workloads.Unavailable());
        var pool = CpuList.Of([1]);
        var rules = Path.Join(_w.Dir.FullName, "rules.yaml");
        await File.WriteAllTextAsync(rules, "rules:\n  - name: storm\n    counter: context-switches\n    threshold: 20000\n    scope: core\n    cooldown: 5s\n");
        var up = _w.Start(drained: false, info: CliRunner.StartInfo("up", "--rules", rules, "--isolation-cpus", pool.ToString(), "--cgroup", _w.Cgroup, "--period", "500ms",
            "--state-dir", Path.Join(_w.Dir.FullName, "state"), "--duration", "3m"));
        up.StandardInput.Close();
        up.ErrorDataReceived += (_, e) => { if (e.Data is { } l) { _log.Enqueue(l); } };
        up.OutputDataReceived += (_, _) => { };
        up.BeginErrorReadLine();
        up.BeginOutputReadLine();
        await Until(() => _log.Any(l => l.Contains("active (lease held)", StringComparison.Ordinal)), "the planner never became active");

        // Given a shell whose job is a two-process channel, and a benign process of another group
        var shell = _w.Setsid("bash", "-c", "stress-ng --switch 1 --timeout 300s >/dev/null 2>&1; sleep 120");
        var benign = _w.Setsid("sleep", "120");
        var first = await Until(() => Workloads.Below(shell.Id).Where(p => Workloads.Comm(p) == "stress-ng-switc").ToArray() is { Length: 2 } w ? w : null, "no workers");
        var stressParent = Workloads.Below(shell.Id).Single(p => Workloads.Comm(p) == "stress-ng");

        // Then both workers share the pool CPU, and the shell, the stress-ng parent and the benign process stay shared
        await Until(() => first.All(w => Workloads.OnPool(w, pool)), "the channel's two ends were not both isolated");
        Assert.All(new[] { shell.Id, stressParent, benign.Id }, p => Assert.False(Workloads.OnPool(p, pool), $"pid {p} ({Workloads.Comm(p)}) was isolated"));
        Assert.Contains(_log, l => l.Contains("joins CPU 1", StringComparison.Ordinal));

        // When the channel exits, and another channel of another group starts storming
        using (var channel = Process.GetProcessById(stressParent))
        {
            channel.Kill(entireProcessTree: true);
        }
        await Until(() => first.All(w => !File.Exists($"/proc/{w}/stat")), "the first channel did not exit");
        await Until(() => _log.Count(l => l.Contains("exited: left 1 slot(s)", StringComparison.Ordinal)) >= 2, "the slot was not given back");
        var started = Stopwatch.StartNew();
        var next = _w.Setsid("stress-ng", "--switch", "1", "--timeout", "60s");
        var second = await Until(() => Workloads.Below(next.Id).ToArray() is { Length: 2 } w ? w : null, "no workers");

        // Then it gets the same CPU
        await Until(() => second.All(w => Workloads.OnPool(w, pool)), "the second channel was not isolated on the freed CPU");
        output.WriteLine($"second channel isolated on CPU 1 {started.Elapsed.TotalMilliseconds:F0} ms after it started (period 500 ms)");
        Assert.False(Workloads.OnPool(benign.Id, pool), "the benign process was moved");
    }

    private async Task Until(Func<bool> condition, string what) => await Until(() => condition() ? Array.Empty<int>() : null, what);

    private async Task<T> Until<T>(Func<T?> probe, string what) where T : class
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        for (var value = probe(); ; value = probe())
        {
            if (value is not null)
            {
                return value;
            }
            Assert.True(DateTime.UtcNow < until, $"{what} within 60 s; up's log:\n{string.Join('\n', _log.TakeLast(40))}");
            await Task.Delay(50);
        }
    }

    public void Dispose() => _w.Dispose();
}
