using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using SafeHaven.Actuators.Cpu;
using SafeHaven.Core;
using Xunit.Abstractions;

namespace SafeHaven.Cli.Tests.Pipeline;

/// <summary>
/// Issue 9's scenario through <c>safehaven up</c> on a one-CPU pool: a channel of two processes started by a shell is
/// isolated in one slot (not the shell, not a benign process); when it exits the slot comes back, and the next
/// channel, of another process group, gets the same CPU.
/// </summary>
public sealed class UpLedgerTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _cgroup = "safehaven-ledger-" + Guid.NewGuid().ToString("N")[..8];
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("safehaven-ledger-");
    private readonly List<Process> _processes = [];
    private readonly ConcurrentQueue<string> _log = new();

    [SkippableFact]
    public async Task Both_ends_of_a_channel_share_the_pool_cpu_its_shell_stays_and_the_slot_returns_when_they_exit()
    {
        Skip.IfNot(Environment.UserName == "root", "moving processes between cpusets needs root");
        Skip.IfNot(Directory.Exists("/sys/fs/cgroup/cpuset"), "no cgroup v1 cpuset hierarchy on this host");
        Skip.IfNot(File.Exists("/usr/bin/stress-ng") && File.Exists("/usr/bin/setsid"), "needs stress-ng and setsid (apt-get install -y stress-ng)");
        Skip.If(Environment.ProcessorCount != 2, "the scenario is a one-CPU pool beside one shared CPU");
        var pool = CpuList.Of([1]);
        var rules = Path.Join(_dir.FullName, "rules.yaml");
        await File.WriteAllTextAsync(rules, "rules:\n  - name: storm\n    counter: context-switches\n    threshold: 20000\n    scope: core\n    cooldown: 5s\n");
        var up = Start(CliRunner.StartInfo("up", "--rules", rules, "--isolation-cpus", pool.ToString(), "--cgroup", _cgroup, "--period", "500ms",
            "--state-dir", Path.Join(_dir.FullName, "state"), "--duration", "3m"));
        up.StandardInput.Close();
        up.ErrorDataReceived += (_, e) => { if (e.Data is { } l) { _log.Enqueue(l); } };
        up.OutputDataReceived += (_, _) => { };
        up.BeginErrorReadLine();
        up.BeginOutputReadLine();
        await Until(() => _log.Any(l => l.Contains("active (lease held)", StringComparison.Ordinal)), "the planner never became active");

        // Given a shell whose job is a two-process channel, and a benign process of another group
        var shell = Start(Setsid("bash", "-c", "stress-ng --switch 1 --timeout 8s >/dev/null 2>&1; sleep 120"));
        var benign = Start(Setsid("sleep", "120"));
        var first = await Until(() => Below(shell.Id).Where(p => Comm(p) == "stress-ng-switc").ToArray() is { Length: 2 } w ? w : null, "no workers");
        var stressParent = Below(shell.Id).Single(p => Comm(p) == "stress-ng");

        // Then both workers share the pool CPU, and the shell, the stress-ng parent and the benign process stay shared
        await Until(() => first.All(w => OnPool(w, pool)), "the channel's two ends were not both isolated");
        Assert.All(new[] { shell.Id, stressParent, benign.Id }, p => Assert.False(OnPool(p, pool), $"pid {p} ({Comm(p)}) was isolated"));
        Assert.Contains(_log, l => l.Contains("joins CPU 1", StringComparison.Ordinal));

        // When the channel exits, and another channel of another group starts storming
        await Until(() => first.All(w => !File.Exists($"/proc/{w}/stat")), "the first channel did not exit");
        await Until(() => _log.Count(l => l.Contains("exited: left 1 slot(s)", StringComparison.Ordinal)) >= 2, "the slot was not given back");
        var started = Stopwatch.StartNew();
        var next = Start(Setsid("stress-ng", "--switch", "1", "--timeout", "60s"));
        var second = await Until(() => Below(next.Id).ToArray() is { Length: 2 } w ? w : null, "no workers");

        // Then it gets the same CPU
        await Until(() => second.All(w => OnPool(w, pool)), "the second channel was not isolated on the freed CPU");
        output.WriteLine($"second channel isolated on CPU 1 {started.Elapsed.TotalMilliseconds:F0} ms after it started (period 500 ms)");
        Assert.False(OnPool(benign.Id, pool), "the benign process was moved");
    }

    private static bool OnPool(int pid, CpuList pool) => ThreadVerifier.Verify(pid, pool).Ok;

    private static string? Comm(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }

    // Every live descendant of root.
    private static IEnumerable<int> Below(int root)
    {
        var parents = new Dictionary<int, int>();
        foreach (var d in Directory.GetDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(d), CultureInfo.InvariantCulture, out var pid))
            {
                try
                {
                    var stat = File.ReadAllText($"/proc/{pid}/stat");
                    parents[pid] = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
                }
                catch (IOException)
                {
                }
            }
        }
        bool Under(int pid) => parents.TryGetValue(pid, out var p) && (p == root || (p > 1 && Under(p)));
        return parents.Keys.Where(Under);
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

    private static ProcessStartInfo Setsid(params string[] args)
    {
        var info = new ProcessStartInfo("/usr/bin/setsid") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        return info;
    }

    private Process Start(ProcessStartInfo info)
    {
        var p = Process.Start(info)!;
        _processes.Add(p);
        return p;
    }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit(5000);
            }
            p.Dispose();
        }
        _dir.Delete(recursive: true);
        if (Directory.Exists("/sys/fs/cgroup/cpuset/" + _cgroup))
        {
            CpusetDetector.Detect(_cgroup).Cleanup();
        }
    }
}
