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

    /// <summary>
    /// Reads where <paramref name="pid"/> is (after an agent restart): every thread's allowed CPUs, its cpuset's memory nodes
    /// and its <c>Mems_allowed_list</c>. An isolation on <paramref name="node"/> holds when the threads are on exactly
    /// <paramref name="cpus"/> and both memory readings are the node; a release when they are on <paramref name="cpus"/> (the
    /// shared ones) and the memory nodes are the parent cpuset's again.
    /// </summary>
    /// <exception cref="ProcessGoneException">The process does not exist.</exception>
    public LevelReading Read(int pid, int node, CpuList cpus, bool isolated)
    {
        var check = ThreadVerifier.Verify(pid, cpus);
        try
        {
            var expected = isolated ? CpuList.Of([node]) : ParentMems();
            return Judge(pid, check, cpus, _isolator.Cpusets.ReadMems(pid), MemsAllowed(pid), expected);
        }
        catch (Exception e) when (e is CgroupException or FormatException)
        {
            return new LevelReading(false, $"memory nodes of pid {pid} unreadable: {e.Message}");
        }
    }

    /// <summary>The decision of <see cref="Read"/> from what was read: threads first, then the cpuset's nodes, then the kernel's.</summary>
    internal static LevelReading Judge(int pid, ThreadCheck threads, CpuList cpus, CpuList? cpusetMems, CpuList? allowedMems, CpuList expectedMems) =>
        !threads.Ok ? new(false, $"thread {threads.Tid} of pid {pid} is allowed on cpus {threads.Actual}, not {cpus}")
        : cpusetMems is null ? new(false, $"pid {pid} has no cpuset of its own (not enrolled): its memory nodes are not {expectedMems}")
        : !cpusetMems.Equals(expectedMems) ? new(false, $"the cpuset of pid {pid} has memory nodes {cpusetMems}, not {expectedMems}")
        : allowedMems is null || !allowedMems.Equals(expectedMems) ? new(false, $"pid {pid} is allowed memory nodes {allowedMems?.ToString() ?? "(unreadable)"}, not {expectedMems}")
        : new(true, $"all {threads.Threads} threads of pid {pid} are on cpus {cpus} and memory nodes {expectedMems}");

    // The memory nodes a released workload gets back: the parent cpuset's (its effective ones where the file says so).
    private CpuList ParentMems()
    {
        var effective = Path.Join(_isolator.Cpusets.ParentPath, "cpuset.mems.effective");
        return CpuList.Parse(CgroupFile.Read(File.Exists(effective) ? effective : Path.Join(_isolator.Cpusets.ParentPath, "cpuset.mems")));
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
