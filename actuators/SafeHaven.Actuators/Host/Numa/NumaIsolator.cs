using System.Diagnostics;
using SafeHaven.Actuators.Agent;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Host.Numa;

/// <summary>
/// The NUMA level: the workload's own cpuset gets one node's CPUs (the core-level move: cpuset rewrite, every thread's
/// affinity, verified) and that node's memory (<c>cpuset.mems</c>, pages migrated), verified from the cpuset and from
/// <c>/proc/PID/status</c> <c>Mems_allowed_list</c>. Release gives back the shared CPUs and the parent's memory nodes.
/// </summary>
/// <param name="isolator">The core-level mover over this host's cpusets.</param>
public sealed class NumaIsolator(CoreIsolator isolator)
{
    private readonly CoreIsolator _isolator = isolator ?? throw new ArgumentNullException(nameof(isolator));

    /// <summary>Moves <paramref name="pid"/> onto node <paramref name="node"/>: its <paramref name="cpus"/> and its memory.</summary>
    public CoreMoveOutcome Isolate(int pid, int node, CpuList cpus)
    {
        var moved = _isolator.Isolate(pid, cpus);
        if (!moved.Succeeded)
        {
            return moved;
        }
        return Mems(pid, CpuList.Of([node]), moved);
    }

    /// <summary>Gives <paramref name="pid"/> the <paramref name="shared"/> CPUs and the parent's memory nodes again.</summary>
    public CoreMoveOutcome Release(int pid, CpuList shared)
    {
        var moved = _isolator.Release(pid, shared);
        return moved.Succeeded ? Mems(pid, null, moved) : moved;
    }

    private CoreMoveOutcome Mems(int pid, CpuList? mems, CoreMoveOutcome moved)
    {
        var phases = new Dictionary<string, long>(moved.PhasesNs);
        var start = Stopwatch.GetTimestamp();
        try
        {
            _isolator.Cpusets.SetMems(pid, mems);
            var set = _isolator.Cpusets.ReadMems(pid);
            var allowed = MemsAllowed(pid);
            phases["mems"] = Results.StopwatchElapsedNs(start);
            if (mems is not null && (set is null || !set.Equals(mems) || allowed is null || !allowed.Equals(mems)))
            {
                return new CoreMoveOutcome(false, moved.Cpus, $"memory nodes of {pid} are cpuset {set}, allowed {allowed}, not {mems}", phases);
            }
            return new CoreMoveOutcome(true, moved.Cpus, null, phases);
        }
        catch (Exception e) when (e is CgroupException or InvalidOperationException or ProcessGoneException)
        {
            phases["mems"] = Results.StopwatchElapsedNs(start);
            return new CoreMoveOutcome(false, moved.Cpus, e.Message, phases);
        }
    }

    /// <summary>Mems_allowed_list of the process's main thread, or null when it is gone.</summary>
    internal static CpuList? MemsAllowed(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{Identifiers.RequirePid(pid, nameof(pid))}/status")
                .FirstOrDefault(l => l.StartsWith("Mems_allowed_list:", StringComparison.Ordinal));
            return line is not null && CpuList.TryParse(line["Mems_allowed_list:".Length..].Trim(), out var nodes, out _) ? nodes : null;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
