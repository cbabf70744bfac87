namespace SafeHaven.Actuators.Host.Cpu;

/// <summary>
/// Workload cpusets on the cgroup v1 cpuset hierarchy (<c>/sys/fs/cgroup/cpuset</c>). Threads are
/// moved one TID at a time through <c>tasks</c>, each write costing an RCU grace period
/// (≈16 ms), which is why enrolment happens up front and isolation only rewrites <c>cpuset.cpus</c>.
/// </summary>
public sealed class CgroupV1Cpuset : CgroupCpuset
{
    /// <summary>Where distributions mount the v1 cpuset hierarchy.</summary>
    public const string DefaultRoot = "/sys/fs/cgroup/cpuset";

    /// <summary>Uses the hierarchy mounted at <paramref name="root"/> with a parent cpuset named <paramref name="parentName"/>.</summary>
    public CgroupV1Cpuset(string root = DefaultRoot, string parentName = "safehaven") : base(root, parentName) { }

    /// <inheritdoc/>
    public override string Kind => "cgroup-v1";

    private protected override string RootMems() => CgroupFile.Read(Path.Join(Root, "cpuset.mems"));

    private protected override void WriteMems(string child, string mems)
    {
        // v1 leaves pages where they are unless asked: the workload's memory must follow it to the node.
        CgroupFile.Write(Path.Join(child, "cpuset.memory_migrate"), 1);
        base.WriteMems(child, mems);
    }

    private protected override void MoveProcess(int pid, string cgroup)
    {
        var tasks = Path.Join(cgroup, "tasks");
        var seen = new HashSet<int>();
        // A thread started by a thread not yet moved is born in the old cpuset: repeat until a
        // pass finds no new TID (threads started by moved ones are born in the new cpuset).
        while (ProcFs.Default.ThreadIds(pid).Where(seen.Add).ToList() is { Count: > 0 } fresh)
        {
            foreach (var tid in fresh)
            {
                WriteTask(tasks, tid);
            }
        }
    }

    private protected override void MoveAll(string from, string to)
    {
        var tasks = Path.Join(to, "tasks");
        for (var pass = 0; pass < 100; pass++)
        {
            var ids = CgroupFile.ReadIds(Path.Join(from, "tasks"));
            if (ids.Count == 0)
            {
                return;
            }
            foreach (var tid in ids)
            {
                WriteTask(tasks, tid);
            }
        }
        throw new CgroupException($"{from} still has tasks after 100 passes (threads keep being created)");
    }

    private static void WriteTask(string tasks, int tid)
    {
        try
        {
            CgroupFile.Write(tasks, tid);
        }
        catch (CgroupException e) when (e.Errno == Errno.ESRCH)
        {
            // The thread exited meanwhile: nothing left to move.
        }
    }
}
