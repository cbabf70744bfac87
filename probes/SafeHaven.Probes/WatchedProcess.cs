using SafeHaven.Probes.Perf;
using SafeHaven.Probes.Proc;

namespace SafeHaven.Probes;

/// <summary>One watched process: its perf counters, its /proc counters and the window bookkeeping.</summary>
internal sealed class WatchedProcess : IDisposable
{
    private readonly TimeProvider _time;
    private readonly ProcCounters _procCounters;
    // Values of a window read early but not published (EarlyPublication said wait): added to the next read.
    private IDictionary<string, long>? _deferred;

    private WatchedProcess(ProcessIdentity identity, ProcessCounters perf, ProcCounters proc, TimeProvider time, long openedTs)
    {
        Identity = identity;
        Perf = perf;
        _procCounters = proc;
        _time = time;
        LastReadTs = openedTs;
    }

    public ProcessIdentity Identity { get; }

    public ProcessCounters Perf { get; }

    /// <summary>Monotonic timestamp where the current window started (open or previous read).</summary>
    public long LastReadTs { get; private set; }

    /// <summary>
    /// Monotonic timestamp of the scheduled tick that will publish the current window (early
    /// publication: the window's planned end). Set by the sampler.
    /// </summary>
    public long PlannedEndTs { get; set; }

    /// <summary>
    /// The fine tick's cached trigger for the current window: perf counter index, name and the count
    /// that guarantees the rate (<see cref="SafeHaven.Core.Samples.EarlyPublication.TriggerCount"/>),
    /// valid for <see cref="TriggersKey"/> (thresholds, window start, planned end).
    /// </summary>
    public (int Index, string Name, long Needed)[] Triggers { get; set; } = [];

    /// <summary>What <see cref="Triggers"/> were computed for.</summary>
    public (object? Thresholds, long StartTs, long EndTs) TriggersKey { get; set; }

    /// <summary>Perf fds last registered for overflow signals (re-registered when it changes).</summary>
    public int RegisteredFds { get; set; } = -1;

    /// <summary>Overflow wake-ups in the current window (bounded: see <c>Sampler.OnOverflow</c>).</summary>
    public int Wakes { get; set; }

    /// <summary>Published early in the current period: the period's scheduled tick skips it (one sample per period).</summary>
    public bool PublishedEarly { get; set; }

    /// <summary>True while the perf counters count (always, unless sampled round-robin).</summary>
    public bool IsCounting => Perf.IsCounting;

    /// <summary>True once disposed (dropped by the sampler).</summary>
    public bool IsClosed { get; private set; }

    /// <summary>Values since the previous read plus the window; null when the process is gone.</summary>
    public Reading? Read()
    {
        // The window ends in the middle of the reads: half of the read time is attributed to each side.
        long before = _time.GetTimestamp();
        var perf = Perf.Read();
        var proc = _procCounters.Read();
        long after = _time.GetTimestamp();
        return Complete(perf, proc, before + ((after - before) / 2));
    }

    /// <summary>
    /// Starts a round-robin slot: takes the /proc baseline and enables the perf counters; the
    /// window starts now. False when the process is gone.
    /// </summary>
    public bool Begin()
    {
        long before = _time.GetTimestamp();
        if (_procCounters.Read() is null)
        {
            return false;
        }
        Perf.Enable();
        long after = _time.GetTimestamp();
        LastReadTs = before + ((after - before) / 2);
        return true;
    }

    /// <summary>
    /// Ends a round-robin slot: disables the perf counters, then reads what they counted while
    /// enabled; the window ends at the disable. Null when the process is gone.
    /// </summary>
    public Reading? End()
    {
        long before = _time.GetTimestamp();
        Perf.Disable();
        var proc = _procCounters.Read();
        long after = _time.GetTimestamp();
        // Read after the disable: the values are frozen, so reading late adds nothing to the window.
        return Complete(Perf.Read(), proc, before + ((after - before) / 2));
    }

    private Reading? Complete(CounterReading perf, IReadOnlyDictionary<string, long>? proc, long end)
    {
        if (perf.Outcome == CounterReadOutcome.ProcessGone || proc is null)
        {
            return null;
        }
        long start = LastReadTs;
        LastReadTs = end;
        var values = new Dictionary<string, long>(perf.Values, StringComparer.Ordinal);
        foreach (var (name, value) in proc)
        {
            values[name] = value;
        }
        if (_deferred is { } deferred)
        {
            foreach (var (name, value) in deferred)
            {
                values[name] = values.TryGetValue(name, out long now) ? now + value : value;
            }
            _deferred = null;
        }
        return new Reading(values, ToNs(end - start), end, start);
    }

    /// <summary>Events of <paramref name="counter"/> read but deferred (see <see cref="Defer"/>); 0 when none.</summary>
    public long Deferred(string counter) => _deferred is { } d && d.TryGetValue(counter, out long v) ? v : 0;

    /// <summary>
    /// Takes back a reading that is not published: its values join the next reading and the window
    /// keeps its start, as if it had not been read.
    /// </summary>
    public void Defer(Reading reading)
    {
        ArgumentNullException.ThrowIfNull(reading);
        _deferred = reading.Values;
        LastReadTs = reading.StartTs;
    }

    /// <summary>
    /// Opens the counters of <paramref name="id"/>; counting only once <see cref="Begin"/> is called unless
    /// <paramref name="enabled"/>; with <paramref name="overflow"/>, those that can signal their overflow as sampling events.
    /// </summary>
    public static WatchedProcess? TryOpen(ProcFs procFs, TimeProvider time, ProcessIdentity id, IReadOnlyList<PerfEventSpec> specs, bool enabled = true, bool overflow = false)
    {
        long before = time.GetTimestamp();
        if (!ProcessCounters.TryOpen(procFs, id.Pid, id.StartTime, specs, out var perf, enabled, overflow: overflow))
        {
            return null;
        }
        var proc = new ProcCounters(procFs, id.Pid, [.. specs.Where(s => !s.IsPerf).Select(s => (s.Name, s.ProcField!))]);
        // The /proc baseline is taken now so the first sample covers the same window as perf's.
        if (proc.Read() is null)
        {
            perf.Dispose();
            return null;
        }
        long after = time.GetTimestamp();
        return new WatchedProcess(id, perf, proc, time, before + ((after - before) / 2));
    }

    private long ToNs(long delta) => (long)((Int128)delta * 1_000_000_000 / _time.TimestampFrequency);

    public void Dispose()
    {
        IsClosed = true;
        Perf.Dispose();
    }

    /// <summary>One read: values, window length in ns and the monotonic timestamps of the window end and start.</summary>
    public sealed record Reading(IDictionary<string, long> Values, long IntervalNs, long EndTs, long StartTs);
}
