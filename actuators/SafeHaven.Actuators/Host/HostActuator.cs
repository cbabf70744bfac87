using System.Diagnostics;
using SafeHaven.Actuators.Agent;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Core;
using SafeHaven.Schemas;
using SafeHaven.Security;

namespace SafeHaven.Actuators.Host;

/// <summary>
/// Executes core-level <see cref="IsolationCommand"/>s on this host and reports each as one
/// <see cref="IsolationResult"/>. Pure command handling: transport, signatures and logging live
/// elsewhere; the clock is injected so deadlines and timestamps are testable.
/// </summary>
public sealed partial class HostActuator
{
    private readonly HostActuatorOptions _options;
    private readonly CoreIsolator _isolator;
    private readonly Results _results;
    private readonly CpuList _shared;
    private readonly CommandGate _commands;
    private readonly Lock _gate = new();
    // pid -> the CPUs it was isolated on and the suspect group it shares them with (null: alone)
    private readonly Dictionary<int, (CpuList Cpus, string? Group)> _slots = [];

    /// <summary>Creates the actuator and validates <paramref name="options"/> against the online CPUs.</summary>
    /// <param name="options">Id, isolation pool and cgroup name.</param>
    /// <param name="isolator">Performs the moves.</param>
    /// <param name="time">Clock for deadlines and result timestamps (<see cref="TimeProvider.System"/> when null).</param>
    /// <param name="onlineCpus">Online CPUs (read from /sys when null).</param>
    /// <exception cref="ArgumentException">The options do not fit this host.</exception>
    /// <param name="verifier">Trusted planner keys; when set, unsigned and badly signed commands are rejected.</param>
    /// <param name="journal">Where executed command ids persist across restarts; in memory only when null.</param>
    /// <param name="levels">The smt, llc and numa levels this host executes; none when null.</param>
    public HostActuator(HostActuatorOptions options, CoreIsolator isolator, TimeProvider? time = null, CpuList? onlineCpus = null,
        CommandVerifier? verifier = null, CommandJournal? journal = null, HostLevels? levels = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(isolator);
        var online = onlineCpus ?? Cpu.OnlineCpus.Read();
        options.Validate(online);
        _options = options;
        _isolator = isolator;
        _results = new Results(options.Id, time ?? TimeProvider.System);
        _shared = options.SharedCpus(online);
        _commands = new CommandGate(options.Id, verifier, journal);
        OnlineCpus = online;
        Intermediate = levels ?? HostLevels.None;
    }

    /// <summary>The host's online CPUs.</summary>
    public CpuList OnlineCpus { get; }

    /// <summary>Which cpuset flavour moves processes here (cgroup v1 or v2).</summary>
    public string CpusetKind => _isolator.Cpusets.Kind;

    /// <summary>The online CPUs outside the isolation pool.</summary>
    public CpuList SharedCpus => _shared;

    /// <summary>Puts a monitored workload on the shared CPUs in its own cpuset, ahead of any detection.</summary>
    public CoreMoveOutcome Enrol(int pid)
    {
        lock (_gate)
        {
            // A process already isolated (a restart of up or of the agent) stays where it is, and its CPUs count as
            // held by a group this agent no longer knows: no other workload is put beside it.
            var outcome = _isolator.Enrol(pid, _shared, _options.Pool);
            if (outcome.AlreadyIsolated && outcome.Cpus is { } held)
            {
                _slots[pid] = (held, null);
            }
            return outcome;
        }
    }

    /// <summary>
    /// Runs the validation and verification paths once on this very process as a dry run, so the
    /// first real command does not pay for JIT compilation. Touches nothing.
    /// </summary>
    public void WarmUp()
    {
        var self = Environment.ProcessId;
        var now = _results.NowNs();
        Execute(new IsolationCommand
        {
            commandId = "warm-up", entity = new EntityRef { datacenter = "local", host = _options.Id, pid = self, startTime = ProcFs.Default.StartTime(self) },
            level = Levels.Core, action = Actions.Isolate, source = _options.Id, target = CpuList.Of([_options.Pool.Cpus.First()]).ToString(),
            issuedAtNs = now, deadlineNs = now + 60_000_000_000, dryRun = true, reasons = [], signature = [],
        }, verifySignature: false);
        ThreadVerifier.Verify(self, OnlineCpus);
        // The dry run above stops at "the agent's own process": the checks after that one, which every real command
        // runs, get their first run here (measured ≈2–5 ms of JIT at the first command under load; docs/PERFORMANCE.md).
        ProtectedProcesses.WarmUp();
        lock (_gate)
        {
            HolderOf(self, _options.Pool, group: null);
        }
        // Re-applying this thread's own mask changes nothing and compiles the affinity path.
        if (Affinity.GetThread(self) is { } mask)
        {
            Affinity.SetThread(self, mask);
        }
    }

    /// <summary>Validates and executes one command; never throws for anything the command holds.</summary>
    public IsolationResult Execute(IsolationCommand cmd) => Execute(cmd, verifySignature: true);

    /// <summary>Null when <paramref name="cmd"/> carries a trusted planner signature, else why not (see <see cref="CommandGate.Unauthentic"/>).</summary>
    public string? Unauthentic(IsolationCommand cmd) => _commands.Unauthentic(cmd);

    /// <summary>Records that <paramref name="result"/> was published: its command is no longer reconciled after a restart.</summary>
    public void Published(IsolationResult result)
    {
        lock (_gate)
        {
            _commands.Finished(result);
        }
    }

    private IsolationResult Execute(IsolationCommand cmd, bool verifySignature)
    {
        ArgumentNullException.ThrowIfNull(cmd);
        lock (_gate)
        {
            // Phases on the Stopwatch, like the isolator's own: real measurements even where the clock is a test's fake.
            var validateStart = Stopwatch.GetTimestamp();
            var result = _results.New(cmd.commandId ?? "", cmd.entity, cmd.level ?? "", cmd.dryRun);
            var verdict = Check(cmd, result.startedAtNs, verifySignature, out var pid, out var cpus, out var index);
            result.phases["validate"] = Results.StopwatchElapsedNs(validateStart);
            if (verdict is not null)
            {
                return _results.Finish(result, verdict.Value.Status, verdict.Value.Error);
            }
            if (cmd.dryRun)
            {
                return _results.Finish(result, ResultStatus.Skipped, $"dry run: would {(cmd.action == Actions.Release ? "release" : "move")} pid {pid} to cpus {cpus}");
            }
            // Journal first: after a crash mid-move the redelivered command must be a duplicate
            // (the move is reconciled from /proc), never a second execution.
            if (_commands.Start(cmd) is { } unjournalled)
            {
                return _results.Finish(result, ResultStatus.Failed, unjournalled);
            }
            var outcome = Run(cmd, pid, cpus, index);
            // Only CPU slots (core, a NUMA node's) are tracked for the overlap check; a process may hold one of those and an smt or llc slot.
            var cpuSlot = cmd.level is Levels.Core or Levels.Numa;
            if (cpuSlot && outcome.Succeeded && cmd.action == Actions.Isolate)
            {
                _slots[pid] = (cpus, cmd.group);
            }
            else if ((cpuSlot && cmd.action == Actions.Release) || !ProcFs.Default.Exists(pid))
            {
                _slots.Remove(pid);
            }
            foreach (var (name, ns) in outcome.PhasesNs)
            {
                result.phases[name] = ns;
            }
            result.cpus = outcome.Cpus?.ToString();
            return _results.Finish(result, outcome.Succeeded ? ResultStatus.Succeeded : ResultStatus.Failed, outcome.Error);
        }
    }

    private (string Status, string Error)? Check(IsolationCommand cmd, long nowNs, bool verifySignature, out int pid, out CpuList cpus, out int index)
    {
        pid = 0;
        cpus = CpuList.Empty;
        index = -1;
        if (_commands.Admit(cmd, nowNs, verifySignature) is { } refused)
        {
            return refused;
        }
        if (cmd.action is not (Actions.Isolate or Actions.Release))
        {
            return Results.Reject($"unknown action '{Identifiers.Printable(cmd.action)}' (expected {Actions.Isolate} or {Actions.Release})");
        }
        if (cmd.entity?.pid is not { } p || p < 1 || p > 4_194_304)
        {
            return Results.Reject($"entity.pid '{cmd.entity?.pid}' is not a valid pid (1..4194304)");
        }
        pid = p;
        if (cmd.level != Levels.Core)
        {
            if (CheckLevel(cmd, out cpus, out index) is { } bad)
            {
                return Results.Reject(bad);
            }
        }
        else if (cmd.action == Actions.Release)
        {
            cpus = _shared;
        }
        else if (!CpuList.TryParse(cmd.target ?? "", out cpus, out var error) || cpus.IsEmpty)
        {
            return Results.Reject($"target '{Identifiers.Printable(cmd.target)}' is not a CPU list: {(cpus.IsEmpty && error.Length == 0 ? "empty" : error)}");
        }
        else if (!cpus.IsSubsetOf(_options.Pool))
        {
            return Results.Reject($"target cpus {cpus} are outside the isolation pool {_options.Pool}");
        }
        if (StartTimeOf(pid) is not { } started)
        {
            return (ResultStatus.Failed, $"process {pid} not found");
        }
        if (cmd.entity.startTime is { } expected && started != expected)
        {
            return Results.Reject($"pid {pid} now belongs to another process (start time {started}, not {expected})");
        }
        if (cmd.action == Actions.Isolate && ProtectedProcesses.Why(pid) is { } protectedWhy)
        {
            return Results.Reject(protectedWhy);
        }
        if (cmd.action == Actions.Isolate && HolderOf(pid, cpus, cmd.group) is { } holder)
        {
            return Results.Reject($"target cpus {cpus} are held by pid {holder} of another group");
        }
        return null;
    }

    private static long? StartTimeOf(int pid)
    {
        try
        {
            return ProcFs.Default.StartTime(pid);
        }
        catch (ProcessGoneException)
        {
            return null;
        }
    }

    // Another live workload of another group (or of none) isolated on an overlapping slot; slots of exited ones are freed.
    // A zombie holds nothing: the probe already reported its exit and the planner gave its slot to the next group.
    private int? HolderOf(int pid, CpuList cpus, string? group)
    {
        foreach (var (other, slot) in _slots.ToList())
        {
            if (!ProcFs.Default.IsLive(other))
            {
                _slots.Remove(other);
            }
            else if (other != pid && slot.Cpus.Overlaps(cpus) && (group is null || slot.Group != group))
            {
                return other;
            }
        }
        return null;
    }
}
