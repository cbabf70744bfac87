using System.Runtime.InteropServices;

namespace SafeHaven.Probes.Perf;

/// <summary>
/// The kernel's <c>struct perf_event_attr</c> up to <c>config2</c> (PERF_ATTR_SIZE_VER1, 72 bytes):
/// every field this probe sets. The kernel zero-fills the newer fields of a smaller struct, so
/// this works on every kernel since 2.6.32 and never trips E2BIG.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 72)]
internal struct PerfEventAttr
{
    [FieldOffset(0)] public uint Type;
    [FieldOffset(4)] public uint Size;
    [FieldOffset(8)] public ulong Config;
    [FieldOffset(16)] public ulong SamplePeriod;
    [FieldOffset(24)] public ulong SampleType;
    [FieldOffset(32)] public ulong ReadFormat;
    [FieldOffset(40)] public ulong Flags;
    [FieldOffset(48)] public uint WakeupEvents;
    [FieldOffset(52)] public uint BpType;
    [FieldOffset(56)] public ulong Config1;
    [FieldOffset(64)] public ulong Config2;
}

/// <summary>Raw system calls behind the perf counters (Linux on x86_64 or arm64, see <see cref="Syscalls"/>).</summary>
internal static unsafe partial class PerfNative
{

    public const uint TypeHardware = 0, TypeSoftware = 1, TypeTracepoint = 2, TypeRaw = 4;
    public const ulong FormatTotalTimeEnabled = 1, FormatTotalTimeRunning = 2;
    public const ulong FlagDisabled = 1UL << 0, FlagInherit = 1UL << 1;
    /// <summary>
    /// inherit_thread (Linux 5.13+): with <see cref="FlagInherit"/>, only tasks cloned with
    /// CLONE_THREAD inherit the counter, so a forked child process never adds to its parent.
    /// Older kernels reject the unknown bit with EINVAL.
    /// </summary>
    public const ulong FlagInheritThread = 1UL << 35;
    private const nuint PerfFlagFdCloexec = 8;
    private const nuint IocEnable = 0x2400, IocDisable = 0x2401, IocReset = 0x2403;

    // syscall(2) and ioctl(2) are variadic in C; on x86_64 and Linux arm64 integer varargs travel in the same
    // registers as fixed arguments, and glibc's syscall stub is plain assembly, so passing
    // pointer-sized integers through a fixed signature is exact.
    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial nint Syscall5(nint number, PerfEventAttr* attr, nint pid, nint cpu, nint groupFd, nuint flags);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, nuint request, nuint arg);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int fd, void* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "sysconf")]
    private static partial nint SysConf(int name);

    [LibraryImport("libc", EntryPoint = "clock_gettime", SetLastError = true)]
    private static partial int ClockGetTime(int clockId, long* timespec);

    // Returns the error number itself (not -1 and errno).
    [LibraryImport("libc", EntryPoint = "clock_nanosleep")]
    private static partial int ClockNanosleep(int clockId, int flags, long* request, long* remain);

    /// <summary>
    /// Opens one counter on thread <paramref name="tid"/> (any CPU); returns the fd or -errno.
    /// With <paramref name="inheritThreads"/> the threads <paramref name="tid"/> creates later
    /// count into the same fd (inherit + inherit_thread), child processes never; without it the
    /// counter covers <paramref name="tid"/> alone. A counter opened with <paramref name="enabled"/>
    /// false counts nothing until <see cref="Enable"/>. A non-zero <paramref name="samplePeriod"/>
    /// makes it a sampling event whose overflow can signal (<see cref="SetPeriod"/>); it counts the same.
    /// </summary>
    public static int Open(in PerfEventSpec spec, int tid, bool inheritThreads, bool enabled = true, ulong samplePeriod = 0)
    {
        var attr = new PerfEventAttr
        {
            Type = spec.Type,
            Size = (uint)sizeof(PerfEventAttr),
            Config = spec.Config,
            SamplePeriod = samplePeriod,
            ReadFormat = FormatTotalTimeEnabled | FormatTotalTimeRunning,
            // Counting starts at open: the zero baseline is then exact and no ENABLE race exists.
            // Round-robin sampling opens disabled instead, so an idle counter holds no PMU slot.
            // Never inherit alone: plain inherit=1 also hands the counter to forked child processes,
            // and an idle shell would be reported at its busy child's rate.
            Flags = (inheritThreads ? FlagInherit | FlagInheritThread : 0) | (enabled ? 0 : FlagDisabled),
        };
        // glibc has no wrapper for perf_event_open; on an architecture whose number is unknown, say so as an errno.
        if (Syscalls.PerfEventOpen is not { } number)
        {
            return -Errno.ENOSYS;
        }
        while (true)
        {
            nint fd = Syscall5(number, &attr, tid, -1, -1, PerfFlagFdCloexec);
            if (fd >= 0)
            {
                return (int)fd;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno != Errno.EINTR)
            {
                return -errno;
            }
        }
    }

    /// <summary>Reads value, time enabled and time running; false when the event is dead (EOF or error).</summary>
    public static bool TryRead(int fd, out ulong value, out ulong enabled, out ulong running)
    {
        ulong* buffer = stackalloc ulong[3];
        nint n;
        do
        {
            n = Read(fd, buffer, 3 * sizeof(ulong));
        }
        while (n < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR);
        bool ok = n == 3 * sizeof(ulong);
        value = ok ? buffer[0] : 0;
        enabled = ok ? buffer[1] : 0;
        running = ok ? buffer[2] : 0;
        return ok;
    }

    /// <summary>PERF_EVENT_IOC_ENABLE; 0 or -errno.</summary>
    public static int Enable(int fd) => IoctlResult(Ioctl(fd, IocEnable, 0));

    /// <summary>PERF_EVENT_IOC_DISABLE; 0 or -errno.</summary>
    public static int Disable(int fd) => IoctlResult(Ioctl(fd, IocDisable, 0));

    /// <summary>PERF_EVENT_IOC_RESET; 0 or -errno.</summary>
    public static int Reset(int fd) => IoctlResult(Ioctl(fd, IocReset, 0));

    private static int IoctlResult(int rc) => rc == 0 ? 0 : -Marshal.GetLastPInvokeError();

    /// <summary>CLOCK_BOOTTIME in nanoseconds: the clock /proc/PID/stat start times are measured on.</summary>
    public static long BootTimeNs()
    {
        long* ts = stackalloc long[2];
        return ClockGetTime(7 /* CLOCK_BOOTTIME */, ts) == 0 ? (ts[0] * 1_000_000_000) + ts[1] : 0;
    }

    /// <summary>
    /// Blocks the calling thread for <paramref name="span"/> with the kernel's high-resolution
    /// timers (tens of µs late, against about a millisecond for .NET timers), without spinning.
    /// </summary>
    public static void SleepFor(TimeSpan span)
    {
        const int ClockMonotonic = 1, TimerAbstime = 1;
        long* ts = stackalloc long[2];
        if (span <= TimeSpan.Zero || ClockGetTime(ClockMonotonic, ts) != 0)
        {
            return;
        }
        long ns = (ts[0] * 1_000_000_000) + ts[1] + (span.Ticks * 100);
        ts[0] = ns / 1_000_000_000;
        ts[1] = ns % 1_000_000_000;
        // An absolute deadline: a signal (EINTR) restarts the same sleep instead of a longer one.
        while (ClockNanosleep(ClockMonotonic, TimerAbstime, ts, null) == Errno.EINTR)
        {
        }
    }

    /// <summary>CPU time the calling thread has used, in ns (CLOCK_THREAD_CPUTIME_ID).</summary>
    public static long ThreadCpuNs()
    {
        long* ts = stackalloc long[2];
        return ClockGetTime(3 /* CLOCK_THREAD_CPUTIME_ID */, ts) == 0 ? (ts[0] * 1_000_000_000) + ts[1] : 0;
    }

    /// <summary>USER_HZ: the unit of /proc/PID/stat times (sysconf(_SC_CLK_TCK), 100 on Linux).</summary>
    public static long ClockTicksPerSecond { get; } = SysConf(2 /* _SC_CLK_TCK */) is > 0 and var hz ? hz : 100;

    /// <summary>Symbolic name of an errno (kept for the overflow code, which calls it by this name).</summary>
    public static string ErrnoName(int errno) => Errno.Name(errno);
}
