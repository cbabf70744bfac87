using SafeHaven.Core.Samples;
using SafeHaven.Schemas;

namespace SafeHaven.Probes;

// Early publication (docs/SAMPLES.md): between regular ticks, FineTickScheduler calls PublishEarly, and
// with overflow signals (Sampler.Overflow.cs) OnOverflow for the processes whose counters signalled.
public sealed partial class Sampler
{
    /// <summary>Logs a failed tick of a scheduler that runs this sampler.</summary>
    internal void LogFailure(Exception e) => LogTickFailed(e);

    /// <summary>The thresholds early publication uses now (none unless rules were given).</summary>
    internal EarlyPublication EarlyThresholds => _rules.Current;

    /// <summary>
    /// One fine tick: peeks the counters that rules watch, and publishes (as one tick) the windows
    /// whose counts already guarantee a rule's rate for their whole planned window
    /// (<see cref="EarlyPublication"/>). A published window's successor runs to the tick after
    /// <paramref name="nextDueTs"/>, which skips the process: still one sample per process per period.
    /// While overflow signals watch the counters, only the processes they cannot cover are peeked.
    /// Returns the number of samples published.
    /// </summary>
    internal int PublishEarly(long nextDueTs)
    {
        var early = _rules.Current;
        if (!early.IsEnabled)
        {
            return 0;
        }
        lock (_gate)
        {
            return _overflow is null ? PublishWindows(_watched.Values, early, nextDueTs) : PublishWindows([.. _peek], early, nextDueTs);
        }
    }

    // Under _gate. Every candidate takes the same exact path, whoever woke it.
    private int PublishWindows(IEnumerable<WatchedProcess> candidates, EarlyPublication early, long nextDueTs)
    {
        long now = _time.GetTimestamp();
        List<CounterSample>? tick = null;
        List<WatchedProcess>? gone = null;
        long refEpochNs = 0;
        try
        {
            foreach (var w in candidates)
            {
                if (w.IsClosed || w.PublishedEarly || w.PlannedEndTs <= now)
                {
                    continue;
                }
                if (!Triggered(w, early))
                {
                    Rearm(w, early);
                    continue;
                }
                if (w.Read() is not { } r)
                {
                    (gone ??= []).Add(w);
                    continue;
                }
                // The peek said yes; the decision stands on what the sample would really carry.
                if (!early.ShouldPublish(r.Values, r.IntervalNs, ToNs(w.PlannedEndTs - r.StartTs)))
                {
                    w.Defer(r);
                    // The safety rule waits for time to pass, which no overflow announces.
                    WatchByFineTick(w);
                    continue;
                }
                if (tick is null)
                {
                    tick = [];
                    refEpochNs = EpochNs();
                }
                tick.Add(ToSample(w, r, now, refEpochNs));
                w.PublishedEarly = true;
                w.PlannedEndTs = nextDueTs + _periodTs;
                // Nothing more of it this period: its next window is armed at the next regular tick.
                Disarm(w);
            }
        }
        finally
        {
            if (tick is not null)
            {
                Publish(tick);
            }
            gone?.ForEach(Drop);
        }
        return tick?.Count ?? 0;
    }

    // The cheap test first: perf counts only (no /proc, no allocation), plus values read and deferred
    // before, against counts computed once per window (integer comparisons on the fine tick).
    private bool Triggered(WatchedProcess w, EarlyPublication early)
    {
        foreach (var (index, name, needed) in TriggersOf(w, early))
        {
            if (w.Perf.Peek(index) + w.Deferred(name) >= needed)
            {
                return true;
            }
        }
        return false;
    }

    // The rule counters of w and the count that triggers each over w's current planned window.
    private (int Index, string Name, long Needed)[] TriggersOf(WatchedProcess w, EarlyPublication early)
    {
        var key = ((object?)early, w.LastReadTs, w.PlannedEndTs);
        if (w.TriggersKey != key)
        {
            long plannedNs = ToNs(w.PlannedEndTs - w.LastReadTs);
            var triggers = new List<(int, string, long)>();
            for (int i = 0; i < w.Perf.CounterCount; i++)
            {
                if (w.Perf.NameAt(i) is { } name && early.TriggerCount(name, plannedNs) is var needed && needed != long.MaxValue)
                {
                    triggers.Add((i, name, needed));
                }
            }
            w.Triggers = [.. triggers];
            w.TriggersKey = key;
        }
        return w.Triggers;
    }
}
