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
    /// Setting passes of <see cref="SetAllThreads(int, CpuList)"/> before it stops chasing new threads: one plus three,
    /// as the probe's attach passes. A process that keeps starting threads would otherwise hold the caller forever.
    /// </summary>
    public const int MaxPasses = 4;

    /// <summary>
    /// Sets the affinity of every thread of <paramref name="pid"/>. Threads may start while this
    /// runs, from threads not yet moved, so passes repeat until one finds no new TID, at most
    /// <see cref="MaxPasses"/> times; a thread that exits meanwhile is fine.
    /// </summary>
    /// <returns>How many threads were set and whether the last look found no new thread.</returns>
    /// <exception cref="ProcessGoneException">The process itself is gone.</exception>
    public static AllThreadsResult SetAllThreads(int pid, CpuList cpus) =>
        SetAllThreads(pid, cpus, ProcFs.Default.ThreadIds, SetThread);

    // The seams let a test stand in a process whose thread list never stops growing.
    internal static AllThreadsResult SetAllThreads(int pid, CpuList cpus, Func<int, List<int>> threadIds, Func<int, CpuList, bool> setThread)
    {
        Identifiers.RequirePid(pid, nameof(pid));
        ArgumentNullException.ThrowIfNull(cpus);
        var seen = new HashSet<int>();
        var set = 0;
        for (var pass = 0; ; pass++)
        {
            var fresh = threadIds(pid).Where(seen.Add).ToList();
            if (fresh.Count == 0 || pass == MaxPasses)
            {
                return new AllThreadsResult(set, pass, Settled: fresh.Count == 0);
            }
            foreach (var tid in fresh)
            {
                if (setThread(tid, cpus))
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
