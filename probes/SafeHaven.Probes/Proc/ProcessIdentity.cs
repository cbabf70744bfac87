using SafeHaven.Linux;

namespace SafeHaven.Probes.Proc;

/// <summary>Who a process is: pid plus start time tells a reused pid apart.</summary>
/// <param name="Pid">Process id.</param>
/// <param name="Comm">Command name from /proc/PID/stat.</param>
/// <param name="StartTime">Start time in clock ticks since boot (stat field 22).</param>
/// <param name="Container">Container id from /proc/PID/cgroup, or null.</param>
public sealed record ProcessIdentity(int Pid, string Comm, long StartTime, string? Container)
{
    /// <summary>VM name when the process is a QEMU guest (see <see cref="QemuCommandLine"/>), or null.</summary>
    public string? Vm { get; init; }

    /// <summary>The process as an <see cref="Schemas.EntityRef"/> of <paramref name="datacenter"/>/<paramref name="host"/>.</summary>
    public Schemas.EntityRef ToEntity(string datacenter, string host) => new()
    {
        datacenter = datacenter,
        host = host,
        pid = Pid,
        comm = Comm,
        container = Container,
        vm = Vm,
        startTime = StartTime,
    };
}

/// <summary>The probe's reading of a process's identity from <see cref="ProcFs"/>.</summary>
public static class ProcFsIdentity
{
    /// <summary>Identity of <paramref name="pid"/> (comm, start time, container), or null when gone.</summary>
    public static ProcessIdentity? ReadIdentity(this ProcFs proc, int pid)
    {
        ArgumentNullException.ThrowIfNull(proc);
        if (proc.ReadStat(pid) is not { } stat)
        {
            return null;
        }
        string? cgroup = proc.ReadCgroup(pid);
        return new ProcessIdentity(pid, stat.Comm, stat.StartTime, cgroup is null ? null : ContainerIds.FromCgroupFile(cgroup));
    }
}
