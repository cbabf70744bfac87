using SafeHaven.Core;

namespace SafeHaven.Actuators.Host.Cpu;

/// <summary>
/// Workload cpusets on the unified (v2) hierarchy, where the cpuset controller must be enabled
/// through <c>cgroup.subtree_control</c> and exclusive slots can become partitions
/// (<c>cpuset.cpus.partition</c> = <c>isolated</c> or <c>root</c>) on kernels that support them.
/// </summary>
/// <remarks>
/// v2 has one hierarchy for every controller: enrolling moves the process out of its original
/// cgroup (its memory and pids limits included), and <see cref="ICpusetController.Remove"/>
/// returns it to the SafeHaven parent, not to where it came from.
/// </remarks>
public sealed class CgroupV2Cpuset : CgroupCpuset
{
    /// <summary>Where distributions mount the unified hierarchy.</summary>
    public const string DefaultRoot = "/sys/fs/cgroup";

    /// <summary>Uses the unified hierarchy mounted at <paramref name="root"/> with a parent cgroup named <paramref name="parentName"/>.</summary>
    public CgroupV2Cpuset(string root = DefaultRoot, string parentName = "safehaven") : base(root, parentName) { }

    /// <inheritdoc/>
    public override string Kind => "cgroup-v2";

    private protected override void PrepareRoot() => EnableCpuset(Root);

    private protected override void PrepareParent() => EnableCpuset(ParentPath);

    private protected override string RootMems() => CgroupFile.Read(Path.Join(Root, "cpuset.mems.effective"));

    // cgroup.procs moves every thread of the process in one write, under the kernel's
    // thread-group lock, so no thread can be born on the wrong side.
    private protected override void MoveProcess(int pid, string cgroup)
    {
        try
        {
            CgroupFile.Write(Path.Join(cgroup, "cgroup.procs"), pid);
        }
        catch (CgroupException e) when (e.Errno == Errno.ESRCH)
        {
            throw new ProcessGoneException($"process {pid} exited while moving it to {cgroup}", e);
        }
    }

    private protected override void MoveAll(string from, string to)
    {
        for (var pass = 0; pass < 100; pass++)
        {
            var pids = CgroupFile.ReadIds(Path.Join(from, "cgroup.procs"));
            if (pids.Count == 0)
            {
                return;
            }
            foreach (var pid in pids)
            {
                try
                {
                    CgroupFile.Write(Path.Join(to, "cgroup.procs"), pid);
                }
                catch (CgroupException e) when (e.Errno == Errno.ESRCH)
                {
                    // Exited meanwhile.
                }
            }
        }
        throw new CgroupException($"{from} still has processes after 100 passes");
    }

    private protected override void WriteCpus(string child, CpuList cpus, bool exclusive)
    {
        var partition = Path.Join(child, "cpuset.cpus.partition");
        var partitions = File.Exists(partition);
        if (partitions && !exclusive && !CgroupFile.Read(partition).StartsWith("member", StringComparison.Ordinal))
        {
            CgroupFile.Write(partition, "member");
        }
        CgroupFile.Write(Path.Join(child, "cpuset.cpus"), cpus.ToString());
        if (partitions && exclusive)
        {
            TryPartition(partition);
        }
    }

    // A partition needs the parent to be a partition root, or (Linux 6.7+) the CPUs claimed in
    // cpuset.cpus.exclusive all the way up. When the kernel declines, the slot stays a member:
    // it is still exclusive among monitored workloads by the layout, only not for the scheduler.
    private static void TryPartition(string partition)
    {
        foreach (var mode in (string[])["isolated", "root"])
        {
            try
            {
                CgroupFile.Write(partition, mode);
                var state = CgroupFile.Read(partition);
                if (state.StartsWith(mode, StringComparison.Ordinal) && !state.Contains("invalid", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (CgroupException)
            {
                // Not supported here; try the next mode.
            }
        }
        CgroupFile.Write(partition, "member");
    }

    private static void EnableCpuset(string cgroup)
    {
        var control = Path.Join(cgroup, "cgroup.subtree_control");
        if (!CgroupFile.Read(control).Split(' ').Contains("cpuset"))
        {
            CgroupFile.Write(control, "+cpuset");
        }
    }
}
