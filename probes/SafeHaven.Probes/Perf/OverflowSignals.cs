using System.Buffers.Binary;

namespace SafeHaven.Probes.Perf;

/// <summary>
/// Counter overflows delivered to one thread: the thread that creates it blocks a real-time signal
/// (and SIGIO) and reads them from a signalfd; <see cref="Arm"/> makes a counter fd's overflows raise
/// that signal on this thread alone, carrying the fd. Create, wait and dispose on the same thread.
/// </summary>
/// <remarks>
/// Real-time signals queue (one per overflow, each naming its fd); when the queue is full the kernel
/// sends SIGIO instead, which <see cref="Wait"/> reports as <c>lost</c> so the caller looks at
/// everything. The signal is never unblocked: one left pending after the counters are disarmed would
/// otherwise take its default action (terminate) when the thread exits.
/// </remarks>
internal sealed class OverflowSignals : IDisposable
{
    // struct signalfd_siginfo: 128 bytes; ssi_signo at 0, ssi_fd at 20.
    private const int InfoSize = 128;
    // Bounds one wake-up's work: at most this many overflows are handled per wait.
    private const int MaxPerWait = 64;
    private readonly int _signalFd, _wakeFd;
    private readonly byte[] _buffer = new byte[InfoSize * MaxPerWait];
    private bool _disposed;

    private OverflowSignals(int signal, int signalFd, int wakeFd)
    {
        Signal = signal;
        _signalFd = signalFd;
        _wakeFd = wakeFd;
        Tid = PerfNative.GetTid();
    }

    /// <summary>
    /// The signal: SIGRTMIN + 5. SIGRTMIN itself is the .NET runtime's thread activation signal, and
    /// glibc keeps the two below it.
    /// </summary>
    public int Signal { get; }

    /// <summary>The thread the overflows are delivered to (the creator).</summary>
    public int Tid { get; }

    /// <summary>Blocks the signals on the calling thread and opens the signalfd; null with the reason when the kernel refuses.</summary>
    public static OverflowSignals? TryCreate(out string problem)
    {
        int signal = PerfNative.SigRtMin() + 5;
        int fd = PerfNative.BlockIntoSignalFd([signal, PerfNative.SignalIo]);
        if (fd < 0)
        {
            problem = $"signalfd: {PerfNative.ErrnoName(-fd)}";
            return null;
        }
        int wake = PerfNative.NewEventFd();
        if (wake < 0)
        {
            _ = PerfNative.Close(fd);
            problem = $"eventfd: {PerfNative.ErrnoName(-wake)}";
            return null;
        }
        problem = "";
        return new OverflowSignals(signal, fd, wake);
    }

    /// <summary>Overflows of <paramref name="fd"/> come here from now on; false when the kernel refuses.</summary>
    public bool Arm(int fd) => PerfNative.SetAsync(fd, on: true, Tid, Signal) == 0;

    /// <summary>Overflows of <paramref name="fd"/> (and of the threads counted into it) no longer signal.</summary>
    public static void Disarm(int fd) => _ = PerfNative.SetAsync(fd, on: false, 0, 0);

    /// <summary>Ends a <see cref="Wait"/> from any thread (cancellation).</summary>
    public void Wake()
    {
        if (!Volatile.Read(ref _disposed))
        {
            PerfNative.SignalEventFd(_wakeFd);
        }
    }

    /// <summary>
    /// Waits up to <paramref name="timeoutNs"/> for overflows (0: only collects what is pending) and
    /// puts the fds that overflowed into <paramref name="fds"/> (at most 64, duplicates possible);
    /// <paramref name="lost"/> is true when the kernel had to drop some (SIGIO).
    /// </summary>
    public void Wait(long timeoutNs, List<int> fds, out bool lost)
    {
        fds.Clear();
        lost = false;
        if (timeoutNs > 0)
        {
            PerfNative.WaitReadable(_signalFd, _wakeFd, timeoutNs);
        }
        int n = PerfNative.ReadSome(_signalFd, _buffer);
        for (int off = 0; off + InfoSize <= n; off += InfoSize)
        {
            var info = _buffer.AsSpan(off, InfoSize);
            int signo = BinaryPrimitives.ReadInt32LittleEndian(info);
            if (signo == Signal)
            {
                fds.Add(BinaryPrimitives.ReadInt32LittleEndian(info[20..]));
            }
            else
            {
                lost = true;
            }
        }
        Span<byte> drain = stackalloc byte[8];
        _ = PerfNative.ReadSome(_wakeFd, drain);
    }

    /// <summary>Closes the descriptors; the signals stay blocked on the thread (see remarks).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        Volatile.Write(ref _disposed, true);
        _ = PerfNative.Close(_signalFd);
        _ = PerfNative.Close(_wakeFd);
    }
}
