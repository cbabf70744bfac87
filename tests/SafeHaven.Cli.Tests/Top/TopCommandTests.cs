using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Cli.Tests.Pipeline;
using SafeHaven.Core;

namespace SafeHaven.Cli.Tests.Top;

/// <summary>
/// <c>safehaven top</c> against a running <c>up</c>: the live view, drawn in a real terminal (tmux), shows the storming
/// process as hot and as isolated on the pool CPU; <c>--once --json</c> says the same for scripts.
/// </summary>
[Collection(PoolCpuTests.Name)]
public sealed class TopCommandTests : IDisposable
{
    private readonly Workloads _w = new();
    private readonly ConcurrentQueue<string> _log = new();
    private readonly string _session = "safehaven-top-" + Guid.NewGuid().ToString("N")[..8];

    [SkippableFact]
    public async Task Top_shows_the_hot_process_and_its_isolation_live_and_as_json()
    {
        Skip.If(Workloads.Unavailable() is not null, Workloads.Unavailable());
        Skip.IfNot(File.Exists("/usr/bin/tmux"), "the live view is checked in a tmux pane (apt-get install -y tmux)");
        var pool = CpuList.Of([1]);
        var rules = Path.Join(_w.Dir.FullName, "rules.yaml");
        await File.WriteAllTextAsync(rules, "rules:\n  - name: storm\n    counter: context-switches\n    threshold: 20000\n    scope: core\n");
        var storm = _w.Setsid("stress-ng", "--switch", "1", "--timeout", "180s");
        var up = _w.Start(drained: false, info: CliRunner.StartInfo("up", "--rules", rules, "--isolation-cpus", pool.ToString(), "--cgroup", _w.Cgroup,
            "--period", "500ms", "--state-dir", Path.Join(_w.Dir.FullName, "state"), "--duration", "3m"));
        up.StandardInput.Close();
        var bootstrap = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        up.ErrorDataReceived += (_, e) => { if (e.Data is { } l) { _log.Enqueue(l); } };
        up.OutputDataReceived += (_, e) => { if (e.Data is { } l && l.StartsWith("bootstrap: ", StringComparison.Ordinal)) { bootstrap.TrySetResult(l["bootstrap: ".Length..]); } };
        up.BeginErrorReadLine();
        up.BeginOutputReadLine();
        var server = await bootstrap.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var workers = await Until(() => Workloads.Below(storm.Id).Where(p => Workloads.Comm(p) == "stress-ng-switc").ToArray() is { Length: 2 } w ? w : null, "no stress-ng workers");
        await Until(() => workers.All(p => Workloads.OnPool(p, pool)) ? workers : null, "the storm was not isolated");

        // When top runs in a terminal
        var tmux = Process.Start("/usr/bin/tmux", ["new-session", "-d", "-s", _session, "-x", "220", "-y", "60", "dotnet", CliRunner.Dll, "top", "--bootstrap", server, "--refresh", "500ms", "--duration", "2m"])!;
        await tmux.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, tmux.ExitCode);

        // Then its pane shows a storming worker as a hot entity beyond ε, and its isolation held on the pool CPU
        var pane = await Until(() => Capture() is { } text && workers.Any(p => Hot(text, p)) && Held(text, workers, pool) ? text : null, "top never showed the hot worker and its isolation");
        Assert.Contains("Isolations held (core", pane, StringComparison.Ordinal);

        // And --once --json says the same
        var run = await CliRunner.RunAsync(TimeSpan.FromSeconds(90), "top", "--bootstrap", server, "--once", "--json");
        Assert.True(run.ExitCode == 0, $"top --once --json exited {run.ExitCode}: {run.Stderr}");
        var doc = JsonNode.Parse(run.Stdout)!;
        var hot = doc["hot"]!.AsArray().Where(h => workers.Contains((int)h!["pid"]!)).ToList();
        Assert.NotEmpty(hot);
        Assert.All(hot, h => Assert.True((double)h!["detectedRate"]! > (double)h["threshold"]!, $"hot entity {h} detected below ε"));
        var held = doc["isolations"]!.AsArray().SelectMany(i => i!["members"]!.AsArray().Select(m => (Cpus: (string?)i["cpus"], Pid: (int?)m!["pid"], Status: (string?)m["status"])));
        Assert.Contains(held, m => m.Cpus == pool.ToString() && m.Pid is { } pid && workers.Contains(pid) && m.Status == "held");
        Assert.Contains(doc["commands"]!.AsArray(), c => (string?)c!["status"] == "succeeded" && (string?)c["level"] == "core");

        // And the utilisation report counts the pool CPU held for the storm against a core per monitored group
        var report = await CliRunner.RunAsync(TimeSpan.FromSeconds(90), "report", "utilisation", "--bootstrap", server, "--json");
        Assert.True(report.ExitCode == 0, $"report utilisation exited {report.ExitCode}: {report.Stderr}");
        var core = JsonNode.Parse(report.Stdout)!["levels"]!.AsArray().Single(l => (string?)l!["level"] == "core")!;
        Assert.True((int)core["isolations"]! >= 1, core.ToJsonString());
        Assert.True((double)core["onDemandUnitSeconds"]! > 0, core.ToJsonString());
        Assert.True((double)core["onDemandUnitSeconds"]! < (double)core["staticUnitSeconds"]!, core.ToJsonString());
    }

    private static bool Hot(string pane, int pid) =>
        pane.Split('\n').Any(l => l.Contains($"pid {pid.ToString(CultureInfo.InvariantCulture)} stress-ng-switc", StringComparison.Ordinal)
            && l.Contains("context-switches", StringComparison.Ordinal) && l.Contains("storm", StringComparison.Ordinal));

    private static bool Held(string pane, int[] workers, CpuList pool) =>
        pane.Split('\n').Any(l => l.TrimStart().StartsWith("core", StringComparison.Ordinal) && l.Contains($" {pool} ", StringComparison.Ordinal)
            && workers.Any(p => l.Contains($"pid {p.ToString(CultureInfo.InvariantCulture)} stress-ng-switc held", StringComparison.Ordinal)));

    private string? Capture()
    {
        using var p = Process.Start(new ProcessStartInfo("/usr/bin/tmux", ["capture-pane", "-p", "-t", _session]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 ? text : null;
    }

    private Task<T> Until<T>(Func<T?> probe, string what) where T : class =>
        Poll.For(probe, TimeSpan.FromSeconds(90), () => $"{what}; pane:\n{Capture()}\nup's log:\n{string.Join('\n', _log.TakeLast(30))}");

    public void Dispose()
    {
        using (var kill = Process.Start("/usr/bin/tmux", ["kill-session", "-t", _session]))
        {
            kill?.WaitForExit(5000);
        }
        _w.Dispose();
    }
}
