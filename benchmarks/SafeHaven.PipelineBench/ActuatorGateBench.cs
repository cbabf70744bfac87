using System.Diagnostics;
using System.Globalization;
using SafeHaven.Actuators.Agent;
using SafeHaven.Actuators.Host;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.PipelineBench;

/// <summary>
/// The host agent's command path in-process, without Kafka: the signature alone, the gate with its journal, the
/// agent's whole check (dry runs), then real moves of the sleep processes through <see cref="HostActuator.Execute"/>.
/// </summary>
internal static class ActuatorGateBench
{
    public static void Run(ActuatorCommands work, int n, string stateDir)
    {
        var signed = Enumerable.Range(0, n).Select(k => work.Command("v", k)).ToList();
        Time("signature (CommandVerifier.Problem)", n, () =>
        {
            foreach (var c in signed)
            {
                Require(work.Verifier.Problem(c) is null, "bad signature");
            }
        });

        // The gate as every agent runs it first: id, signature, addressee, duplicate, level, deadline; then the journal's
        // start line before the move and its done line after the result (each written and fsynced on its own).
        using (var journal = CommandJournal.Open(Path.Combine(stateDir, "gate", "executed-commands")))
        {
            var gate = new CommandGate(ActuatorCommands.Id, work.Verifier, journal);
            var gated = Enumerable.Range(0, n).Select(k => work.Command("g", k)).ToList();
            Time("gate: admit (signature, addressee, duplicate, deadline) + journal start + journal done", n, () =>
            {
                foreach (var c in gated)
                {
                    Require(gate.Admit(c, Bench.NowNs()) is null, "gate refused a good command");
                    Require(gate.Start(c) is null, "journal refused a good command");
                    gate.Finished(new IsolationResult { commandId = c.commandId, status = ResultStatus.Succeeded, level = c.level, phases = new Dictionary<string, long>() });
                }
            });
        }

        var cgroup = "safehaven-bench-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        var cpusets = CpusetDetector.Detect(cgroup);
        try
        {
            var options = new HostActuatorOptions { Id = ActuatorCommands.Id, IsolationCpus = work.Pool, CgroupName = cgroup, StateDirectory = stateDir };
            using var journal = CommandJournal.Open(Path.Combine(stateDir, "agent", "executed-commands"));
            var actuator = new HostActuator(options, new CoreIsolator(cpusets), verifier: work.Verifier, journal: journal);
            actuator.WarmUp();
            foreach (var pid in work.Pids)
            {
                Require(actuator.Enrol(pid).Succeeded, $"pid {pid} not enrolled");
            }
            // Dry runs go through every check the agent makes before a move (the /proc start time, protected processes,
            // slot holders) and touch nothing; they are not journalled, so the same commands can run again.
            var dry = Enumerable.Range(0, n).Select(k => work.Command("d", k, dryRun: true)).ToList();
            var dryResults = new List<IsolationResult>(n);
            Time("agent check: HostActuator.Execute, dry run (gate without journal + /proc checks)", n, () => dryResults.AddRange(dry.Select(actuator.Execute)));
            Console.WriteLine($"  dry runs: {ActuatorCommands.Statuses(dryResults)}");

            var moves = Enumerable.Range(0, n).Select(k => work.Command("x", k)).ToList();
            var results = new List<IsolationResult>(n);
            Time($"agent with real moves: HostActuator.Execute ({work.Pids.Count} sleep processes onto CPU {work.Pool} and back)", n, () =>
            {
                foreach (var c in moves)
                {
                    var r = actuator.Execute(c);
                    actuator.Published(r);
                    results.Add(r);
                }
            });
            Console.WriteLine($"  moves: {ActuatorCommands.Statuses(results)}; phases (ms): {ActuatorCommands.Phases(results)}");
        }
        finally
        {
            cpusets.Cleanup();
        }
    }

    private static void Time(string what, int n, Action run)
    {
        var t = Stopwatch.GetTimestamp();
        run();
        var s = Bench.Ms(Stopwatch.GetTimestamp() - t) / 1000;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what}: {n} commands in {s:F3} s = {n / s:F0} commands/s ({s * 1e6 / n:F1} µs each)"));
    }

    public static void Require(bool ok, string what)
    {
        if (!ok)
        {
            throw new InvalidOperationException(what);
        }
    }
}
