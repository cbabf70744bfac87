namespace SafeHaven.Probes;

/// <summary>
/// Round-robin sampling as in Falzon and Bodden's original system: with n watched processes and at
/// most m counted at once, each period is cut into k = ⌈n / m⌉ slots of period / k, and every process
/// is counted during exactly one slot per period (m = 1 gives the original period / #processes).
/// With n ≤ m there is one slot: every process counts all the time and is read once per period.
/// </summary>
/// <remarks>
/// Slot starts are scheduled from the period start (t0 + i · period / k), never from the previous
/// slot's end, so lateness does not accumulate into drift. A late slot still lasts at least half a
/// slot: the schedule catches up over the following slots instead of publishing slivers of windows
/// whose rates would be mostly noise.
/// </remarks>
internal sealed class RoundRobinScheduler(Sampler sampler, TimeProvider time, TimeSpan period, int maxConcurrent, SlotTimings timings)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        long periodTs = (long)((Int128)period.Ticks * time.TimestampFrequency / TimeSpan.TicksPerSecond);
        long t0 = time.GetTimestamp();
        long earliest = t0;
        sampler.Refresh();
        IReadOnlyList<WatchedProcess> counting = [];
        while (true)
        {
            var groups = Plan(sampler.Snapshot(), maxConcurrent);
            int k = groups.Count;
            long halfSlot = periodTs / k / 2;
            for (int i = 0; i < k; i++)
            {
                long due = t0 + (periodTs * i / k);
                long now = time.GetTimestamp();
                long wakeAt = Math.Max(due, earliest);
                if (wakeAt > now)
                {
                    await Task.Delay(time.GetElapsedTime(now, wakeAt), time, cancellationToken).ConfigureAwait(false);
                    now = time.GetTimestamp();
                }
                cancellationToken.ThrowIfCancellationRequested();
                timings.RecordStart(time.GetElapsedTime(due, now));
                counting = sampler.SwitchSlot(counting, groups[i]);
                earliest = now + halfSlot;
                if (i == 0)
                {
                    // New processes join the next period's plan; discovering while slot 0 counts
                    // costs no window its length.
                    sampler.Refresh();
                }
            }
            t0 += periodTs;
            long behind = time.GetTimestamp() - t0;
            if (behind > periodTs)
            {
                // A whole period lost (the machine stalled): restart the phase rather than race
                // through overdue slots.
                t0 += behind / periodTs * periodTs;
                timings.RecordSkippedPeriods(behind / periodTs);
            }
        }
    }

    /// <summary>
    /// Cuts <paramref name="processes"/> (pid order, so a process keeps its slot while the set is
    /// stable) into k = ⌈n / max⌉ groups of near-equal size; max 0 means one group. Never empty: with
    /// no process there is one empty group, so the loop still ticks once per period.
    /// </summary>
    internal static IReadOnlyList<IReadOnlyList<T>> Plan<T>(IReadOnlyList<T> processes, int max)
    {
        int n = processes.Count;
        int k = max <= 0 || n <= max ? 1 : (n + max - 1) / max;
        var groups = new List<IReadOnlyList<T>>(k);
        for (int i = 0; i < k; i++)
        {
            int from = (int)((long)i * n / k), to = (int)((long)(i + 1) * n / k);
            groups.Add([.. processes.Skip(from).Take(to - from)]);
        }
        return groups;
    }
}

/// <summary>How late sampling slots start against their schedule: the probe's jitter, for measurements.</summary>
internal sealed class SlotTimings
{
    private const int Capacity = 1 << 16;
    private readonly long[] _latenessNs = new long[Capacity];
    private readonly Lock _gate = new();
    private long _count;
    private long _skippedPeriods;

    /// <summary>Records one slot start that was <paramref name="lateness"/> after its scheduled time.</summary>
    public void RecordStart(TimeSpan lateness)
    {
        lock (_gate)
        {
            _latenessNs[_count++ % Capacity] = lateness.Ticks * 100;
        }
    }

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
    }
}
