using System.Diagnostics;
using SafeHaven.Actuators.Agent;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.Actuators.Host;

public sealed partial class HostActuator
{
    /// <summary>
    /// The results of the moves a crash cut short, read from the real state in /proc: whether each
    /// thread of the process is allowed exactly on the command's CPUs. Nothing is moved again (the
    /// command's deadline may be long past); the planner decides from the report.
    /// </summary>
    public IReadOnlyList<IsolationResult> Reconcile()
    {
        lock (_gate)
        {
            return [.. _commands.Unfinished.ToList().Select(ReconcileOne)];
        }
    }

    private IsolationResult ReconcileOne(JournalEntry e)
    {
        var started = Stopwatch.GetTimestamp();
        var result = _results.New(e.CommandId,
            new EntityRef { datacenter = "", host = _options.Id, pid = e.Pid, startTime = e.StartTime, vm = e.Vm, container = e.Container }, e.Level);
        var expected = e.Action == Actions.Release ? _shared : CpuList.TryParse(e.Target, out var c, out _) ? c : CpuList.Empty;
        (string Status, string Error) verdict;
        if (e.Level != Levels.Core || e.Pid is not { } pid)
        {
            verdict = (ResultStatus.Failed, $"agent restarted during a {e.Level} {e.Action}; the real state of this level is not read back here");
        }
        else if (StartTimeOf(pid) is not { } t || (e.StartTime is { } s && s != t))
        {
            verdict = (ResultStatus.Failed, $"agent restarted mid-move; process {pid} is gone");
        }
        else if (VerifyOrNull(pid, expected) is not { } check)
        {
            verdict = (ResultStatus.Failed, $"agent restarted mid-move; process {pid} is gone");
        }
        else
        {
            result.cpus = check.Ok ? expected.ToString() : check.Actual?.ToString();
            verdict = check.Ok
                ? (ResultStatus.Succeeded, $"reconciled after an agent restart: all {check.Threads} threads of pid {pid} are on cpus {expected}")
                : (ResultStatus.Failed, $"agent restarted mid-move; thread {check.Tid} of pid {pid} is allowed on {check.Actual}, not {expected}");
            if (check.Ok && e.Action == Actions.Isolate)
            {
                _slots[pid] = (expected, null);
            }
        }
        result.phases["reconcile"] = Results.StopwatchElapsedNs(started);
        return _results.Finish(result, verdict.Status, verdict.Error);
    }

    private static ThreadCheck? VerifyOrNull(int pid, CpuList expected)
    {
        try
        {
            return ThreadVerifier.Verify(pid, expected);
        }
        catch (ProcessGoneException)
        {
            return null;
        }
    }
}
