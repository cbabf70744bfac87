using System.Diagnostics.CodeAnalysis;
using SafeHaven.Probes.Proc;

namespace SafeHaven.Probes.Perf;

/// <summary>
/// The perf counters of one process, its own threads only: one fd per counter per thread, opened
/// with inherit + inherit_thread so that threads those threads create later are counted by the
/// kernel into the same fd while child processes they fork are not. On a kernel without
/// inherit_thread (before 5.13) every thread gets an fd of its own as reads find it.
/// </summary>
/// <remarks>
/// Plain inherit=1 is never used: it also counts every child process forked after the open, so
/// an idle shell whose child storms would be reported at the child's rate (issue 9).
/// </remarks>
public sealed partial class ProcessCounters : IDisposable
{
    /// <summary>Status of a counter that is being counted.</summary>
    public const string StatusOk = "ok";

    private sealed class ThreadFd(int fd)
    {
        public int Fd = fd;
        public ulong Value, Enabled, Running;
        // O_ASYNC set: its overflows signal (see ProcessCounters.Overflow.cs).
        public bool Async;
    }

    private sealed class Counter(PerfEventSpec spec)
    {
        public PerfEventSpec Spec = spec;
        public readonly Dictionary<int, ThreadFd> Fds = [];
        public string Status = StatusOk;
        // Opened as a sampling event, so that its overflow can be armed (early publication).
        public bool Sampling;
        // The period its fds were last armed with (0: not armed) and how many fds that covered.
        public long ArmedPeriod;
        public int ArmedFds;
        // Final deltas of per-thread fds closed after their thread exited, not yet reported.
        public long Carry;
    }

    private readonly ProcFs _proc;
    private readonly Counter[] _counters;
    private readonly ThreadCoverage _coverage;
    // Threads already accounted for: with an fd of their own, or created later and covered by inheritance.
    private readonly HashSet<int> _knownTids = [];
    private readonly long _tickNs = 1_000_000_000 / PerfNative.ClockTicksPerSecond;
    private long _lastAttachTick;
    private int _lastPidAtAttach;
    private int _reads;
    private bool _disposed;

    private ProcessCounters(ProcFs proc, int pid, long startTime, IEnumerable<PerfEventSpec> specs, ThreadCoverage coverage, bool overflow)
    {
        _proc = proc;
        _coverage = coverage;
        Pid = pid;
        StartTime = startTime;
        _counters = [.. specs.Where(s => s.IsPerf).Select(s => new Counter(s) { Sampling = overflow && CanSignal(s) })];
    }

    /// <summary>The process id.</summary>
    public int Pid { get; }

    /// <summary>The process start time (clock ticks since boot) the counters were opened for.</summary>
    public long StartTime { get; }

    /// <summary>Counter name → <see cref="StatusOk"/> or why it is not counted (e.g. "unsupported: … (ENOENT)").</summary>
    public IReadOnlyDictionary<string, string> Status => _counters.ToDictionary(c => c.Spec.Name, c => c.Status, StringComparer.Ordinal);

    /// <summary>
    /// True while the counters count: from open (unless opened disabled) and between
    /// <see cref="Enable"/> and <see cref="Disable"/>.
    /// </summary>
    public bool IsCounting { get; private set; }

    /// <summary>How threads created after the open are counted.</summary>
    internal ThreadCoverage Coverage => _coverage;

    /// <summary>Open perf fds (all counters, all threads that needed one of their own).</summary>
    internal int OpenFdCount => _counters.Sum(c => c.Fds.Count);

    /// <summary>Zeroes every counter (PERF_EVENT_IOC_RESET), as another tool sharing them might.</summary>
    internal void ResetCounts()
    {
        foreach (var t in _counters.SelectMany(c => c.Fds.Values))
        {
            PerfNative.Reset(t.Fd);
        }
    }

    /// <summary>
    /// Opens the perf counters among <paramref name="specs"/> on every thread of <paramref name="pid"/>.
    /// Returns false only when the process is gone (or <paramref name="startTime"/> no longer
    /// matches); counters the kernel refuses get a status instead.
    /// </summary>
    public static bool TryOpen(int pid, long? startTime, IEnumerable<PerfEventSpec> specs, [NotNullWhen(true)] out ProcessCounters? counters) =>
        TryOpen(ProcFs.Default, pid, startTime, specs, out counters);

    /// <summary>
    /// Like <see cref="TryOpen(int, long?, IEnumerable{PerfEventSpec}, out ProcessCounters?)"/>; with
    /// <paramref name="enabled"/> false the counters count nothing until <see cref="Enable"/>.
    /// </summary>
    public static bool TryOpen(int pid, long? startTime, IEnumerable<PerfEventSpec> specs, bool enabled, [NotNullWhen(true)] out ProcessCounters? counters) =>
        TryOpen(ProcFs.Default, pid, startTime, specs, out counters, enabled);

    // coverage: tests force ThreadCoverage.PerThreadFds; by default, what the kernel supports.
    // overflow: open the counters that can signal their overflow as sampling events (early publication).
    internal static bool TryOpen(ProcFs proc, int pid, long? startTime, IEnumerable<PerfEventSpec> specs, [NotNullWhen(true)] out ProcessCounters? counters,
        bool enabled = true, ThreadCoverage? coverage = null, bool overflow = false)
    {
        counters = null;
        if (proc.ReadStat(pid) is not { } stat || stat.HasExited || (startTime is { } st && st != stat.StartTime))
        {
            return false;
        }
        var pc = new ProcessCounters(proc, pid, stat.StartTime, specs, coverage ?? KernelCoverage, overflow) { IsCounting = enabled };
        pc.AttachNewThreads([.. proc.ListTasks(pid)], all: true);
        // Threads that escaped the first pass may have created threads of their own: settle now
        // rather than one period later.
        for (int i = 0; i < 3; i++)
        {
            pc.AttachNewThreads([.. proc.ListTasks(pid)], all: false);
        }
        if (!pc.IsAlive(out _, listTasks: false))
        {
            pc.Dispose();
            return false;
        }
        counters = pc;
        return true;
    }

    /// <summary>
    /// Events per counter since the previous read (or since open), summed over threads and
    /// scaled by time enabled / time running when the kernel multiplexed. Also attaches to
    /// threads that escaped inheritance (created while the fds were being opened), or, without
    /// inherit_thread, to every thread that appeared since the previous read.
    /// </summary>
    public CounterReading Read()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var c in _counters)
        {
            if (c.Status != StatusOk)
            {
                continue;
            }
            long sum = c.Carry;
            c.Carry = 0;
            foreach (var t in c.Fds.Values)
            {
                sum += ReadDelta(t);
            }
            values[c.Spec.Name] = sum;
        }
        // Per-thread fds need every new thread found, so they list the threads on every read.
        if (!IsAlive(out int[]? tasks, listTasks: _reads++ == 0 || _coverage == ThreadCoverage.PerThreadFds))
        {
            return new CounterReading(CounterReadOutcome.ProcessGone, values);
        }
        if (tasks is not null)
        {
            AttachNewThreads(tasks, all: false);
        }
        return new CounterReading(CounterReadOutcome.Ok, values);
    }

    /// <summary>
    /// The /proc/PID/stat that the latest <see cref="Read"/> found for this process (same start time), or null
    /// when it found the process gone: the sampler hands it to discovery, which then need not read it again
    /// in the same tick.
    /// </summary>
    public ProcStat? LastStat { get; private set; }

    /// <summary>Number of perf counters (indexes for <see cref="NameAt"/> and <see cref="Peek"/>).</summary>
    internal int CounterCount => _counters.Length;

    /// <summary>The name of perf counter <paramref name="index"/>; null when the kernel refused it.</summary>
    internal string? NameAt(int index) => _counters[index].Status == StatusOk ? _counters[index].Spec.Name : null;

    /// <summary>
    /// Events of counter <paramref name="index"/> since the previous <see cref="Read"/>, without ending
    /// the window: one read(2) per fd, no /proc access, no allocation (the fine tick's cost).
    /// </summary>
    internal long Peek(int index)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var c = _counters[index];
        long sum = c.Carry;
        foreach (var t in c.Fds.Values)
        {
            if (PerfNative.TryRead(t.Fd, out ulong value, out _, out _))
            {
                // Unscaled: software counters never multiplex, and a lower bound is what the caller needs.
                sum += (long)(value >= t.Value ? value - t.Value : value);
            }
        }
        return sum;
    }

    /// <summary>
    /// Starts counting on every thread (a round-robin slot begins). Values frozen while disabled
    /// stay the baseline, so the next <see cref="Read"/> covers only the enabled time.
    /// </summary>
    public void Enable() => SetCounting(true);

    /// <summary>Stops counting on every thread; a <see cref="Read"/> after it returns exactly the events of the enabled span.</summary>
    public void Disable() => SetCounting(false);

    private void SetCounting(bool on)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        // The ioctl without PERF_IOC_FLAG_GROUP also reaches the events inherited by threads
        // created later (the kernel walks the child list), so the fds we hold are enough. An fd
        // whose thread exited may refuse; it counts nothing more either way.
        foreach (var c in _counters)
        {
            foreach (var t in c.Fds.Values)
            {
                _ = on ? PerfNative.Enable(t.Fd) : PerfNative.Disable(t.Fd);
            }
        }
        IsCounting = on;
    }

    private static long ReadDelta(ThreadFd t)
    {
        // An fd whose thread exited keeps its final count (and that of the threads it created), so
        // its delta simply drops to zero: with inheritance it is kept open for those threads' sake.
        if (!PerfNative.TryRead(t.Fd, out ulong value, out ulong enabled, out ulong running))
        {
            return 0;
        }
        // A counter that went backwards was reset (PERF_EVENT_IOC_RESET zeroes the count but not
        // the times): count from zero instead of wrapping around to a huge delta.
        ulong dv = value >= t.Value ? value - t.Value : value;
        ulong de = enabled - t.Enabled, dr = running - t.Running;
        t.Value = value;
        t.Enabled = enabled;
        t.Running = running;
        if (dr == 0 || dr >= de)
        {
            return dr == 0 ? 0 : (long)dv;
        }
        // Multiplexed: the counter ran only dr of de ns; extrapolate as perf stat does.
        return (long)((UInt128)dv * de / dr);
    }

    /// <summary>
    /// Alive and still the same process. Lists the threads only when needed: a zombie leader may
    /// still have live threads, and until the first read a thread may have escaped the attach
    /// passes. Any escapee already existed when the first pass ended (see AttachNewThreads), so
    /// later reads would find none; skipping the directory walk halves the cost of a read.
    /// </summary>
    private bool IsAlive(out int[]? tasks, bool listTasks)
    {
        tasks = null;
        LastStat = null;
        if (_proc.ReadStat(Pid) is not { } stat || stat.StartTime != StartTime)
        {
            return false;
        }
        LastStat = stat;
        Threads = stat.Threads;
        if (stat.HasExited || listTasks)
        {
            tasks = [.. _proc.ListTasks(Pid)];
        }
        return !(stat.HasExited && tasks!.Length <= 1);
    }

    /// <summary>Closes every fd.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        foreach (var c in _counters)
        {
            CloseAll(c);
        }
    }
}
