using System.Diagnostics;
using SafeHaven.Actuators.Agent;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.Actuators.Host;

public sealed partial class HostActuator
{
    /// <summary>
    /// The results of the moves a crash cut short, read from the real state of each command's level: every thread's
    /// allowed CPUs in /proc (core), every thread's core-scheduling cookie (smt), resctrl's tasks files (llc), the threads'
    /// CPUs and the cpuset's and kernel's memory nodes (numa). Nothing is moved again (the command's deadline may be long
    /// past); the planner decides from the report.
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
        (string Status, string Error) verdict;
        if (e.Pid is not { } pid || !Levels.OnHost.Contains(e.Level))
        {
            verdict = (ResultStatus.Failed, $"agent restarted during a {e.Level} {e.Action}; the host agent reads back only its own levels ({string.Join(", ", Levels.OnHost)})");
        }
        else if (StartTimeOf(pid) is not { } t || (e.StartTime is { } s && s != t) || ReadBack(e, pid, result) is not { } read)
        {
            verdict = (ResultStatus.Failed, $"agent restarted mid-move; process {pid} is gone");
        }
        else
        {
            verdict = read;
        }
        result.phases["reconcile"] = Results.StopwatchElapsedNs(started);
        return _results.Finish(result, verdict.Status, verdict.Error);
    }

    // Whether the journalled command's end state holds, from its level's real state; null when the process is gone. A CPU
    // slot (core, numa) found isolated is booked again, so no other group's workload is put beside it.
    private (string Status, string Error)? ReadBack(JournalEntry e, int pid, IsolationResult result)
    {
        var isolated = e.Action != Actions.Release;
        try
        {
            var (reading, cpus) = e.Level == Levels.Core ? ReadCore(e, pid, isolated) : ReadLevel(e, pid, isolated);
            result.cpus = cpus?.ToString();
            if (reading.Holds && cpus is not null && e.Level is Levels.Core or Levels.Numa)
            {
                if (isolated)
                {
                    _slots[pid] = (cpus, null);
                }
                else
                {
                    _slots.Remove(pid);
                }
            }
            return reading.Holds
                ? (ResultStatus.Succeeded, $"reconciled after an agent restart: {reading.Evidence}")
                : (ResultStatus.Failed, $"agent restarted mid-move; {reading.Evidence}");
        }
        catch (ProcessGoneException)
        {
            return null;
        }
    }

    // Every thread's allowed CPUs against the command's (the shared CPUs for a release); the CPUs to report either way.
    private (LevelReading Reading, CpuList? Cpus) ReadCore(JournalEntry e, int pid, bool isolated)
    {
        var expected = !isolated ? _shared : CpuList.TryParse(e.Target, out var c, out _) ? c : CpuList.Empty;
        var check = ThreadVerifier.Verify(pid, expected);
        return check.Ok
            ? (new LevelReading(true, $"all {check.Threads} threads of pid {pid} are on cpus {expected}"), expected)
            : (new LevelReading(false, $"thread {check.Tid} of pid {pid} is allowed on {check.Actual}, not {expected}"), check.Actual);
    }
}
