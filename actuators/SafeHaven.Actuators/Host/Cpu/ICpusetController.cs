using SafeHaven.Core;

namespace SafeHaven.Actuators.Host.Cpu;

/// <summary>
/// Gives each monitored workload its own cpuset under a SafeHaven parent, so that isolating it
/// later is a cheap rewrite of that cpuset's CPUs instead of a slow task migration.
/// </summary>
/// <remarks>
/// Layout: <c>ROOT/PARENT</c> (cpus = every online CPU, mems copied from the root) and one child
/// per workload, <c>ROOT/PARENT/w&lt;pid&gt;-&lt;starttime&gt;</c>; the start time tells a reused pid apart.
/// </remarks>
public interface ICpusetController
{
    /// <summary>"cgroup-v1" or "cgroup-v2".</summary>
    string Kind { get; }

    /// <summary>Directory of the SafeHaven parent cpuset.</summary>
    string ParentPath { get; }

    /// <summary>True when the current incarnation of <paramref name="pid"/> has its own cpuset.</summary>
    bool IsEnrolled(int pid);

    /// <summary>Creates the workload's cpuset on <paramref name="cpus"/> and moves every thread of <paramref name="pid"/> into it.</summary>
    /// <exception cref="ProcessGoneException">The process does not exist or exited meanwhile.</exception>
    /// <exception cref="CgroupException">The kernel refused a write; the message names the errno.</exception>
    void Enrol(int pid, CpuList cpus);

    /// <summary>
    /// Rewrites the CPUs of the workload's cpuset, which moves every thread in it. With
    /// <paramref name="exclusive"/>, asks the kernel for an exclusive partition where the
    /// hierarchy supports one (best effort: exclusivity otherwise comes from the layout).
    /// </summary>
    /// <exception cref="InvalidOperationException">The process is not enrolled.</exception>
    /// <exception cref="CgroupException">The kernel refused the write.</exception>
    void SetCpus(int pid, CpuList cpus, bool exclusive = false);

    /// <summary>
    /// Sets the memory nodes of the workload's cpuset (null: the parent's again); on cgroup v1 with
    /// <c>cpuset.memory_migrate</c> on, so its pages follow (v2 migrates them on its own).
    /// </summary>
    /// <exception cref="InvalidOperationException">The process is not enrolled.</exception>
    /// <exception cref="CgroupException">The kernel refused the write (EINVAL for a node that has no memory or is not online).</exception>
    void SetMems(int pid, CpuList? mems);

    /// <summary>The memory nodes configured for the workload's cpuset, or null when it is not enrolled.</summary>
    CpuList? ReadMems(int pid);

    /// <summary>The CPUs configured for the workload's cpuset, or null when it is not enrolled.</summary>
    CpuList? ReadCpus(int pid);

    /// <summary>Moves the workload's threads back to the parent and removes its cpuset; also drops cpusets left by earlier processes with that pid.</summary>
    void Remove(int pid);

    /// <summary>Moves every task out of the SafeHaven parent and its children to the hierarchy root and removes them all.</summary>
    void Cleanup();
}
