using SafeHaven.Schemas;

namespace SafeHaven.Probes;

// The operations RoundRobinScheduler drives at its slot boundaries; it decides when and which.
public sealed partial class Sampler
{
    /// <summary>Rediscovers processes (round-robin: once per period); new ones are opened disabled.</summary>
    internal void Refresh()
    {
        lock (_gate)
        {
            Guarded(() =>
            {
                Rediscover();
                _status.Update(_watched.Values);
            });
        }
    }

    /// <summary>The watched processes in pid order.</summary>
    internal List<WatchedProcess> Snapshot()
    {
        lock (_gate)
        {
            return [.. _watched.Values.OrderBy(w => w.Identity.Pid)];
        }
    }

    /// <summary>
    /// One round-robin slot boundary: ends <paramref name="ending"/> and publishes their samples,
    /// then begins <paramref name="starting"/>. A process in both keeps counting and is only read.
    /// Ending first keeps at most one group counting at any time. Returns the processes now counting.
    /// </summary>
    internal IReadOnlyList<WatchedProcess> SwitchSlot(IReadOnlyList<WatchedProcess> ending, IReadOnlyList<WatchedProcess> starting)
    {
        lock (_gate)
        {
            var started = new List<WatchedProcess>(starting.Count);
            Guarded(() =>
            {
                long refTs = _time.GetTimestamp();
                long refEpochNs = EpochNs();
                var continuing = new HashSet<WatchedProcess>(starting);
                var tick = new List<CounterSample>(ending.Count);
                foreach (var w in ending.Where(w => !w.IsClosed))
                {
                    if ((continuing.Contains(w) ? w.Read() : w.End()) is { } r)
                    {
                        tick.Add(ToSample(w, r, refTs, refEpochNs));
                    }
                    else
                    {
                        Drop(w);
                    }
                }
                Publish(tick);
                foreach (var w in starting.Where(w => !w.IsClosed))
                {
                    if (w.IsCounting || w.Begin())
                    {
                        started.Add(w);
                    }
                    else
                    {
                        Drop(w);
                    }
                }
            });
            return started;
        }
    }

    private void Guarded(Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogTickFailed(e);
        }
    }
}
