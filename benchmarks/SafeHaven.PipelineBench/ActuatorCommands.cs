using System.Diagnostics;
using System.Globalization;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Core;
using SafeHaven.Linux;
using SafeHaven.Schemas;
using SafeHaven.Security;

namespace SafeHaven.PipelineBench;

/// <summary>
/// The actuator bench's workloads and commands: a few real <c>sleep</c> processes, and signed core-level commands
/// that take them in turn onto the isolation pool and back (isolate, then release), as the planner writes them.
/// </summary>
internal sealed class ActuatorCommands : IDisposable
{
    public const string Id = "act-bench";
    private readonly List<Process> _sleepers = [];
    private readonly CommandSigner _signer;

    public ActuatorCommands(int processes)
    {
        _signer = CommandSigner.Ephemeral(out var verifier);
        Verifier = verifier;
        var online = OnlineCpus.Read();
        // The highest CPU is the pool; the others stay shared, as an agent needs (HostActuatorOptions.Validate).
        Pool = CpuList.Of([online.Cpus.Max()]);
        for (var i = 0; i < processes; i++)
        {
            _sleepers.Add(Process.Start(new ProcessStartInfo("sleep", "600") { UseShellExecute = false })!);
        }
        Pids = [.. _sleepers.Select(p => p.Id)];
    }

    /// <summary>Keys the agent trusts: the planner key that signs these commands.</summary>
    public CommandVerifier Verifier { get; }

    public CpuList Pool { get; }

    public IReadOnlyList<int> Pids { get; }

    /// <summary>
    /// Command <paramref name="k"/> of a batch: process k % processes; isolate on even rounds, release on odd ones, so
    /// every command is a real move. One suspect group for all, so they may share the pool CPU.
    /// </summary>
    public IsolationCommand Command(string batch, int k, bool dryRun = false, bool sign = true)
    {
        var pid = Pids[k % Pids.Count];
        var release = k / Pids.Count % 2 == 1;
        var now = Bench.NowNs();
        var cmd = new IsolationCommand
        {
            commandId = string.Create(CultureInfo.InvariantCulture, $"c-{batch}-{k}-core"),
            detectionId = string.Create(CultureInfo.InvariantCulture, $"{batch}-{k}"),
            entity = new EntityRef { datacenter = "dc1", host = "bench", pid = pid, comm = "sleep", startTime = ProcFs.Default.StartTime(pid) },
            level = Levels.Core, action = release ? Actions.Release : Actions.Isolate, source = Id, target = Pool.ToString(),
            issuedAtNs = now, deadlineNs = now + 600_000_000_000, dryRun = dryRun,
            reasons = [$"level core: exclusive CPU {Pool} of {Id}'s pool {Pool} for group bench"], group = "bench", signature = [],
        };
        if (sign)
        {
            _signer.Sign(cmd);
        }
        return cmd;
    }

    /// <summary>Medians of each phase the results report, in ms.</summary>
    public static string Phases(IEnumerable<IsolationResult> results)
    {
        var byPhase = results.SelectMany(r => r.phases).GroupBy(p => p.Key).OrderBy(g => g.Key, StringComparer.Ordinal);
        return string.Join(", ", byPhase.Select(g =>
        {
            var ms = g.Select(p => p.Value / 1e6).Order().ToList();
            return string.Create(CultureInfo.InvariantCulture, $"{g.Key} p50 {Bench.Percentile(ms, 50):F3} p90 {Bench.Percentile(ms, 90):F3} (n={ms.Count})");
        }));
    }

    /// <summary>"N succeeded, M failed" over the results.</summary>
    public static string Statuses(IEnumerable<IsolationResult> results) =>
        string.Join(", ", results.GroupBy(r => r.status).Select(g => $"{g.Count()} {g.Key}" +
            (g.Key == ResultStatus.Succeeded ? "" : $" (e.g. {g.First().error})")));

    public void Dispose()
    {
        foreach (var p in _sleepers)
        {
            if (!p.HasExited)
            {
                p.Kill();
            }
            p.WaitForExit();
            p.Dispose();
        }
        _signer.Dispose();
    }
}
