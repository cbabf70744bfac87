using System.Runtime.InteropServices;

namespace SafeHaven.Linux;

/// <summary>Numbers of the system calls glibc has no wrapper for, per architecture.</summary>
public static class Syscalls
{
    /// <summary>
    /// __NR_perf_event_open for the running process's architecture (298 on x86_64, 241 on arm64,
    /// which uses the generic table), or null on any other architecture: calling 298 there would run an
    /// unrelated system call.
    /// </summary>
    public static nint? PerfEventOpen { get; } = PerfEventOpenFor(RuntimeInformation.ProcessArchitecture);

    /// <summary>__NR_perf_event_open for <paramref name="architecture"/>, or null when not known here.</summary>
    public static nint? PerfEventOpenFor(Architecture architecture) => architecture switch
    {
        Architecture.X64 => 298,
        Architecture.Arm64 => 241,
        _ => null,
    };
}
