using System.Runtime.InteropServices;
using SafeHaven.Core;

namespace SafeHaven.Linux;

/// <summary>
/// sched_setaffinity/sched_getaffinity per thread. The kernel applies affinity to one task
/// only, so moving a process means calling it for every TID.
/// </summary>
public static partial class Affinity
{
    // Room for CpuList.MaxCpu; the kernel accepts masks longer than nr_cpu_ids.
    private const int MaskBytes = (CpuList.MaxCpu + 1) / 8;

    /// <summary>Sets the affinity of one thread.</summary>
    /// <returns>False when the thread no longer exists (ESRCH).</returns>
    /// <exception cref="IOException">Another error, e.g. EINVAL when no CPU of the mask is in the thread's cpuset.</exception>
    public static unsafe bool SetThread(int tid, CpuList cpus)
    {
        Identifiers.RequirePid(tid, nameof(tid));
        ArgumentNullException.ThrowIfNull(cpus);
        var mask = stackalloc byte[MaskBytes];
        new Span<byte>(mask, MaskBytes).Clear();
        foreach (var cpu in cpus.Cpus)
        {
            mask[cpu / 8] |= (byte)(1 << (cpu % 8));
        }
        if (SchedSetAffinity(tid, MaskBytes, mask) == 0)
        {
            return true;
        }
        var errno = Marshal.GetLastPInvokeError();
        return errno == Errno.ESRCH
            ? false
            : throw new IOException($"sched_setaffinity({tid}, {cpus}) failed: {Errno.Name(errno)}", errno);
    }

    /// <summary>The affinity of one thread, or null when it no longer exists.</summary>
    public static unsafe CpuList? GetThread(int tid)
    {
        Identifiers.RequirePid(tid, nameof(tid));
        var mask = stackalloc byte[MaskBytes];
        // glibc's wrapper returns 0 (not the kernel's byte count) and zeroes the rest of the mask.
        if (SchedGetAffinity(tid, MaskBytes, mask) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno == Errno.ESRCH ? null : throw new IOException($"sched_getaffinity({tid}) failed: {Errno.Name(errno)}", errno);
        }
        var cpus = new List<int>();
        for (var i = 0; i < MaskBytes * 8; i++)
        {
            if ((mask[i / 8] & (1 << (i % 8))) != 0)
            {
                cpus.Add(i);
            }
        }
        return CpuList.Of(cpus);
    }

    /// <summary>
    /// Sets the affinity of every thread of <paramref name="pid"/>. Threads may start while this
    /// runs, from threads not yet moved, so passes repeat until one finds no new TID; a thread
    /// that exits meanwhile is fine.
    /// </summary>
    /// <returns>The number of threads set.</returns>
    /// <exception cref="ProcessGoneException">The process itself is gone.</exception>
    public static int SetAllThreads(int pid, CpuList cpus)
    {
        Identifiers.RequirePid(pid, nameof(pid));
        var seen = new HashSet<int>();
        var set = 0;
        while (true)
        {
            var fresh = ProcFs.Default.ThreadIds(pid).Where(seen.Add).ToList();
            if (fresh.Count == 0)
            {
                return set;
            }
            foreach (var tid in fresh)
            {
                if (SetThread(tid, cpus))
                {
                    set++;
                }
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static unsafe partial int SchedSetAffinity(int pid, nuint cpusetsize, byte* mask);

    [LibraryImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static unsafe partial int SchedGetAffinity(int pid, nuint cpusetsize, byte* mask);
}
