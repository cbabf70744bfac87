namespace SafeHaven.Probes;

/// <summary>How late sampling slots start against their schedule: the probe's jitter, for measurements.</summary>
internal sealed class SlotTimings
{
    private const int Capacity = 1 << 16;
    private readonly long[] _latenessNs = new long[Capacity];
    private readonly Lock _gate = new();
    private long _count;
    private long _skippedPeriods;
    private long _cpuNs;
    private long _wakeUps;
    private long _waits;
    private long _fineTicks;

    /// <summary>Adds CPU time the sampling thread(s) spent (ns): the probe's own cost, without its host process.</summary>
    public void AddCpu(long ns) => Interlocked.Add(ref _cpuNs, ns);

    /// <summary>CPU time spent sampling since the last <see cref="Clear"/>, in ns.</summary>
    public long CpuNs => Interlocked.Read(ref _cpuNs);

    /// <summary>Records one slot start that was <paramref name="lateness"/> after its scheduled time.</summary>
    public void RecordStart(TimeSpan lateness)
    {
        lock (_gate)
        {
            _latenessNs[_count++ % Capacity] = lateness.Ticks * 100;
        }
    }

    /// <summary>Counts one wake-up of a sampling loop (timer, signal or cancellation).</summary>
    public void CountWakeUp() => Interlocked.Increment(ref _wakeUps);

    /// <summary>Wake-ups of the sampling loop since the last <see cref="Clear"/>.</summary>
    public long WakeUps => Interlocked.Read(ref _wakeUps);

    /// <summary>
    /// Counts one wait a sampling loop begins, once the work of its previous wake-up is done: a clock that moves only
    /// when told (a test's) may be moved then, and the loop's next tick follows from it.
    /// </summary>
    public void CountWait() => Interlocked.Increment(ref _waits);

    /// <summary>Waits the sampling loop began since the last <see cref="Clear"/> (each after finishing a wake-up's work).</summary>
    public long Waits => Interlocked.Read(ref _waits);

    /// <summary>Counts one fine tick run between regular ticks (early publication peeking at counters).</summary>
    public void CountFineTick() => Interlocked.Increment(ref _fineTicks);

    /// <summary>Fine ticks run since the last <see cref="Clear"/>.</summary>
    public long FineTicks => Interlocked.Read(ref _fineTicks);

    public void RecordSkippedPeriods(long periods) => Interlocked.Add(ref _skippedPeriods, periods);

    /// <summary>Periods skipped because the loop fell a whole period behind.</summary>
    public long SkippedPeriods => Interlocked.Read(ref _skippedPeriods);

    /// <summary>Lateness of the last (up to 65 536) slot starts in ns, oldest first.</summary>
    public long[] LatenessNs()
    {
        lock (_gate)
        {
            int n = (int)Math.Min(_count, Capacity);
            long first = _count - n;
            return [.. Enumerable.Range(0, n).Select(i => _latenessNs[(first + i) % Capacity])];
        }
    }

    /// <summary>Forgets everything recorded so far (a measurement's warm-up).</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _count = 0;
        }
        Interlocked.Exchange(ref _cpuNs, 0);
        Interlocked.Exchange(ref _wakeUps, 0);
        Interlocked.Exchange(ref _waits, 0);
        Interlocked.Exchange(ref _fineTicks, 0);
    }
}
