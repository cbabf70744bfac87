namespace SafeHaven.Probes.Perf;

// Overflow arming for early publication: a rule counter's fds signal once the window's count may have
// reached the count that triggers, so that a quiet process costs nothing between regular ticks.
public sealed partial class ProcessCounters
{
    /// <summary>The sample period of a counter that must not overflow: never reached in practice.</summary>
    internal const ulong DisarmedPeriod = 1UL << 62;

    /// <summary>
    /// The smallest period armed. A thread that overflows too often in one timer tick gets its event
    /// throttled, and a throttled software event stops counting until the next tick: with a period of
    /// at least 64, that would take tens of millions of events a second.
    /// </summary>
    internal const long MinArmedPeriod = 64;

    /// <summary>Threads of the process at the last read (/proc/PID/stat).</summary>
    internal int Threads { get; private set; }

    /// <summary>Re-reads <see cref="Threads"/>: a wake-up may come from a thread created since the last read.</summary>
    internal void RefreshThreads()
    {
        if (_proc.ReadStat(Pid) is { } stat && stat.StartTime == StartTime)
        {
            Threads = stat.Threads;
        }
    }

    /// <summary>
    /// The period each of <paramref name="fds"/> fds gets so that, once they count
    /// <paramref name="remaining"/> events together, at least one of them has overflowed: their largest
    /// count is at least the average (pigeonhole), and counts are integers.
    /// </summary>
    internal static long PeriodFor(long remaining, int fds) => fds <= 0 ? long.MaxValue : (Math.Max(1, remaining) + fds - 1) / fds;

    /// <summary>The fds of counter <paramref name="index"/> (one per thread that needed its own).</summary>
    internal IEnumerable<int> FdsOf(int index) => _counters[index].Fds.Values.Select(t => t.Fd);

    /// <summary>
    /// Arms counter <paramref name="index"/> to signal <paramref name="signals"/> by the time its fds
    /// have counted <paramref name="remaining"/> more events. False (and disarmed) when no overflow can
    /// promise that: not a sampling event, threads counted by inheritance (each inherited thread overflows
    /// on its own count, with the period it was created with), a period below <see cref="MinArmedPeriod"/>,
    /// or the kernel refused.
    /// </summary>
    /// <remarks>
    /// <c>PERF_EVENT_IOC_PERIOD</c> arms exactly only a thread that is off-CPU: it zeroes the count to
    /// the next overflow, which the kernel recomputes from the new period when the thread is scheduled in.
    /// On a thread running at that instant nothing recomputes it: its next event overflows (the context
    /// switch that deschedules it is one), and the period reloaded then is the one before the ioctl
    /// (<see cref="DisarmedPeriod"/> for a counter armed for the first time: no signal ever again).
    /// Measured on this 6.18 kernel (<c>OverflowTests</c>); the caller forgets the armed period of a
    /// counter that signalled (<see cref="ForgetArmedPeriods"/>). docs/SAMPLES.md.
    /// </remarks>
    internal bool Arm(int index, long remaining, OverflowSignals signals)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var c = _counters[index];
        long period = PeriodFor(remaining, c.Fds.Count);
        if (!c.Sampling || c.Status != StatusOk || Threads > c.Fds.Count || period < MinArmedPeriod)
        {
            Disarm(index);
            return false;
        }
        // Each fd signals at most ArmedPeriod events from now: the kernel reloads the period after an
        // overflow, and a period set while the thread ran signals at its next event (see remarks), after
        // which the wake-up's ForgetArmedPeriods makes this method set it again (off-CPU by then, as a
        // rule: exact; else one more wake-up at its next event). Armed no later than this window needs,
        // it stays armed, and a quiet process costs no ioctl at all. Arming a little early (1/32) keeps
        // the next windows' trigger counts, a count or two apart with the tick's jitter, from needing
        // one; the price is a wake-up that finds the count 3 % short.
        if (c.ArmedPeriod > 0 && c.ArmedPeriod <= period && c.ArmedFds == c.Fds.Count)
        {
            return true;
        }
        long target = period - (period / 32);
        foreach (var t in c.Fds.Values)
        {
            // The period restarts at the ioctl: events between the caller's count and it are not
            // seen, a few microseconds' worth, which can only delay the wake-up by as much.
            if ((!t.Async && !(t.Async = signals.Arm(t.Fd))) || PerfNative.SetPeriod(t.Fd, (ulong)target) != 0)
            {
                Disarm(index);
                return false;
            }
        }
        c.ArmedPeriod = target;
        c.ArmedFds = c.Fds.Count;
        return true;
    }

    /// <summary>
    /// Counters signalled (those owning one of <paramref name="fds"/>; every counter when null, signals were
    /// lost): the kernel then reloaded a period the probe cannot know (the one before the last ioctl, when
    /// that ioctl met a running thread; see <see cref="Arm"/>), so the next <see cref="Arm"/> sets the period
    /// again instead of keeping it. Counters that did not signal keep theirs: a needless ioctl could itself
    /// meet the thread running and cost a wake-up.
    /// </summary>
    internal void ForgetArmedPeriods(IReadOnlyCollection<int>? fds = null)
    {
        foreach (var c in _counters)
        {
            if (fds is null || c.Fds.Values.Any(t => fds.Contains(t.Fd)))
            {
                c.ArmedPeriod = 0;
            }
        }
    }

    /// <summary>Counter <paramref name="index"/> stops signalling (threads counted by inheritance included).</summary>
    internal void Disarm(int index)
    {
        _counters[index].ArmedPeriod = 0;
        foreach (var t in _counters[index].Fds.Values.Where(t => t.Async))
        {
            OverflowSignals.Disarm(t.Fd);
            t.Async = false;
        }
    }

    /// <summary>Every counter stops signalling.</summary>
    internal void DisarmAll()
    {
        if (_disposed)
        {
            return;
        }
        for (int i = 0; i < _counters.Length; i++)
        {
            Disarm(i);
        }
    }

    // Software events and tracepoints signal overflows on every kernel with perf (verified on 6.18 here);
    // PMU events need an overflow interrupt this VM does not have, so they are left to the fine tick.
    private static bool CanSignal(PerfEventSpec spec) => spec.Source is CounterSource.Software or CounterSource.Tracepoint;
}
