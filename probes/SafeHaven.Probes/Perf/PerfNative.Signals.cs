using System.Runtime.InteropServices;

namespace SafeHaven.Probes.Perf;

// Counter overflow notification: a sampling counter's overflow raises a queued real-time signal on one
// thread (fcntl F_SETOWN_EX/F_SETSIG/O_ASYNC), which blocks it and reads it from a signalfd. An mmap ring
// buffer and poll(2) would be simpler, but the kernel refuses mmap on inherited per-task counters (EINVAL)
// and poll(2) on a counter without one reports POLLHUP at once; PERF_EVENT_IOC_REFRESH refuses them too.
internal static unsafe partial class PerfNative
{
    // _IOW('$', 4, __u64)
    private const nuint IocPeriod = 0x40082404;
    private const int FGetFl = 3, FSetFl = 4, FSetSig = 10, FSetOwnEx = 15, FOwnerTid = 0;
    private const nint OAsync = 0x2000;
    private const int SigBlock = 0, SigIo = 29;
    private const int NonBlock = 0x800, CloExec = 0x80000;

    /// <summary>SIGIO: what the kernel sends instead when the real-time signal queue is full.</summary>
    public const int SignalIo = SigIo;

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int IoctlPtr(int fd, nuint request, ulong* arg);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int cmd, nint arg);

    [LibraryImport("libc", EntryPoint = "pthread_sigmask")]
    private static partial int PthreadSigmask(int how, ulong* set, ulong* old);

    [LibraryImport("libc", EntryPoint = "signalfd", SetLastError = true)]
    private static partial int SignalFd(int fd, ulong* mask, int flags);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    private static partial int EventFd(uint initial, int flags);

    [LibraryImport("libc", EntryPoint = "ppoll", SetLastError = true)]
    private static partial int PPoll(long* fds, nuint count, long* timeout, ulong* mask);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint Write(int fd, void* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "gettid")]
    public static partial int GetTid();

    [LibraryImport("libc", EntryPoint = "__libc_current_sigrtmin")]
    public static partial int SigRtMin();

    /// <summary>PERF_EVENT_IOC_PERIOD: the next overflow comes after <paramref name="period"/> more events; 0 or -errno.</summary>
    public static int SetPeriod(int fd, ulong period) => IoctlResult(IoctlPtr(fd, IocPeriod, &period));

    /// <summary>Makes the counter's overflows raise <paramref name="signal"/> (with si_fd) on thread <paramref name="tid"/>, or stops them; 0 or -errno.</summary>
    public static int SetAsync(int fd, bool on, int tid, int signal)
    {
        if (on)
        {
            // Owner and signal first: O_ASYNC with no owner would signal nobody, with SIGIO nothing useful.
            int* owner = stackalloc int[2] { FOwnerTid, tid };
            if (Fcntl(fd, FSetOwnEx, (nint)owner) != 0 || Fcntl(fd, FSetSig, signal) != 0)
            {
                return -Marshal.GetLastPInvokeError();
            }
        }
        int flags = Fcntl(fd, FGetFl, 0);
        if (flags < 0)
        {
            return -Marshal.GetLastPInvokeError();
        }
        nint next = on ? flags | OAsync : flags & ~OAsync;
        return next == flags || Fcntl(fd, FSetFl, next) == 0 ? 0 : -Marshal.GetLastPInvokeError();
    }

    /// <summary>Blocks <paramref name="signals"/> on the calling thread and returns a non-blocking signalfd for them, or -errno.</summary>
    public static int BlockIntoSignalFd(ReadOnlySpan<int> signals)
    {
        // glibc's sigset_t is 1024 bits; the kernel reads the first 64.
        ulong* set = stackalloc ulong[16];
        new Span<ulong>(set, 16).Clear();
        foreach (int s in signals)
        {
            set[(s - 1) / 64] |= 1UL << ((s - 1) % 64);
        }
        int rc = PthreadSigmask(SigBlock, set, null);
        if (rc != 0)
        {
            return -rc;
        }
        int fd = SignalFd(-1, set, NonBlock | CloExec);
        return fd >= 0 ? fd : -Marshal.GetLastPInvokeError();
    }

    /// <summary>A non-blocking eventfd (a wake-up for a thread waiting in <see cref="WaitReadable"/>), or -errno.</summary>
    public static int NewEventFd()
    {
        int fd = EventFd(0, NonBlock | CloExec);
        return fd >= 0 ? fd : -Marshal.GetLastPInvokeError();
    }

    /// <summary>Adds 1 to an eventfd.</summary>
    public static void SignalEventFd(int fd)
    {
        ulong one = 1;
        _ = Write(fd, &one, sizeof(ulong));
    }

    /// <summary>Reads into <paramref name="buffer"/> without blocking; bytes read, 0 when nothing is there.</summary>
    public static int ReadSome(int fd, Span<byte> buffer)
    {
        fixed (byte* b = buffer)
        {
            nint n = Read(fd, b, (nuint)buffer.Length);
            return n > 0 ? (int)n : 0;
        }
    }

    /// <summary>Waits until <paramref name="a"/> or <paramref name="b"/> is readable or <paramref name="timeoutNs"/> passes (ns precision).</summary>
    public static void WaitReadable(int a, int b, long timeoutNs)
    {
        const long PollIn = 1;
        // struct pollfd { int fd; short events; short revents; }: 8 bytes each.
        long* fds = stackalloc long[2] { (uint)a | (PollIn << 32), (uint)b | (PollIn << 32) };
        long* timeout = stackalloc long[2] { Math.Max(0, timeoutNs) / 1_000_000_000, Math.Max(0, timeoutNs) % 1_000_000_000 };
        _ = PPoll(fds, 2, timeout, null);
    }
}
