using SafeHaven.Core;

namespace SafeHaven.Actuators.Host.Cpu;

/// <summary>Outcome of <see cref="ThreadVerifier.Verify"/>.</summary>
/// <param name="Ok">True when every thread is allowed exactly on the expected CPUs.</param>
/// <param name="Tid">The first offending thread, when not ok.</param>
/// <param name="Actual">That thread's Cpus_allowed_list, when not ok.</param>
/// <param name="Threads">How many threads were checked.</param>
public sealed record ThreadCheck(bool Ok, int? Tid, CpuList? Actual, int Threads);

/// <summary>
/// Checks from /proc what the kernel will actually let each thread run on, independently of
/// what the cpuset and affinity calls reported.
/// </summary>
public static class ThreadVerifier
{
    /// <summary>Reads Cpus_allowed_list of every thread of <paramref name="pid"/> and compares it with <paramref name="expected"/>.</summary>
    /// <exception cref="ProcessGoneException">The process does not exist.</exception>
    public static ThreadCheck Verify(int pid, CpuList expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        var checkedThreads = 0;
        foreach (var tid in ProcFs.Default.ThreadIds(pid))
        {
            var actual = ProcFs.Default.ThreadCpusAllowed(pid, tid);
            if (actual is null)
            {
                continue; // the thread exited between listing and reading: nothing left to run
            }
            checkedThreads++;
            if (!actual.Equals(expected))
            {
                return new ThreadCheck(false, tid, actual, checkedThreads);
            }
        }
        return checkedThreads > 0 ? new ThreadCheck(true, null, null, checkedThreads) : throw new ProcessGoneException(pid);
    }
}
