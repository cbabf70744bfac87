using System.Diagnostics;

namespace SafeHaven.Probes.Hosting.Delivery;

/// <summary>
/// The thread-safe state between the sampling loop and a sender: a <see cref="DropOldestBuffer{T}"/>
/// plus a count of items handed to the transport and not yet acknowledged, capped so that
/// what the transport cannot deliver stays in the ring, where the drop-oldest policy applies.
/// </summary>
/// <remarks>
/// One monitor guards the ring, the in-flight count and the counters, so the sender can wait for
/// "an item to send and room in flight" as a single condition. No Kafka here: unit-testable.
/// </remarks>
/// <typeparam name="T">The item sent.</typeparam>
internal sealed class DeliveryWindow<T> where T : class
{
    private readonly object _gate = new();
    private readonly DropOldestBuffer<T> _buffer;
    private readonly int _maxInFlight;
    private int _inFlight;
    private long _delivered;
    private long _dropped;
    private bool _stopping;
    private bool _abandoned;
    private long _stopDeadline;

    /// <summary>Creates the window: a ring of <paramref name="capacity"/>, at most <paramref name="maxInFlight"/> in flight.</summary>
    public DeliveryWindow(int capacity, int maxInFlight)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxInFlight);
        _buffer = new DropOldestBuffer<T>(capacity);
        _maxInFlight = maxInFlight;
    }

    public int Buffered { get { lock (_gate) { return _buffer.Count; } } }

    public int InFlight { get { lock (_gate) { return _inFlight; } } }

    public long Delivered { get { lock (_gate) { return _delivered; } } }

    public long Dropped { get { lock (_gate) { return _dropped; } } }

    /// <summary>Appends <paramref name="item"/> without waiting.</summary>
    /// <returns>True when the oldest buffered item was dropped to make room.</returns>
    /// <exception cref="InvalidOperationException">The window is stopping.</exception>
    public bool Enqueue(T item)
    {
        lock (_gate)
        {
            if (_stopping)
            {
                throw new InvalidOperationException("the delivery window is closed");
            }
            bool dropped = _buffer.Add(item);
            if (dropped)
            {
                _dropped++;
            }
            Monitor.PulseAll(_gate);
            return dropped;
        }
    }

    /// <summary>Appends every item of <paramref name="items"/> at once, so a sender never sees part of them.</summary>
    /// <returns>How many buffered items were dropped to make room.</returns>
    /// <exception cref="InvalidOperationException">The window is stopping.</exception>
    public int EnqueueAll(IEnumerable<T> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        lock (_gate)
        {
            if (_stopping)
            {
                throw new InvalidOperationException("the delivery window is closed");
            }
            int dropped = 0;
            foreach (var item in items)
            {
                dropped += _buffer.Add(item) ? 1 : 0;
            }
            _dropped += dropped;
            Monitor.PulseAll(_gate);
            return dropped;
        }
    }

    /// <summary>
    /// <see cref="TryNext"/>, then also takes the items right behind the first while
    /// <paramref name="together"/> holds for neighbours, there is room in flight and <paramref name="run"/>
    /// has fewer than <paramref name="max"/>. Each taken item is in flight. The ring drops its oldest
    /// items only, so drops always come before a run's first item (which carries them), never inside it.
    /// </summary>
    public bool TryNextRun(List<T> run, Func<T, T, bool> together, int max, out long carried)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(together);
        run.Clear();
        if (!TryNext(out var first, out carried))
        {
            return false;
        }
        run.Add(first);
        lock (_gate)
        {
            while (run.Count < max && _inFlight < _maxInFlight && _buffer.PendingDrops == 0
                   && _buffer.TryPeek(out var next) && together(run[^1], next) && _buffer.TryTake(out next, out _))
            {
                _inFlight++;
                run.Add(next);
            }
        }
        return true;
    }

    /// <summary>
    /// Blocks the sender until an item can go in flight, and takes it with the drops to report.
    /// Returns false once stopping and the ring is empty, or the stop deadline has passed.
    /// </summary>
    public bool TryNext(out T item, out long carried)
    {
        lock (_gate)
        {
            while (true)
            {
                long left = _stopping ? _stopDeadline - Stopwatch.GetTimestamp() : long.MaxValue;
                if (left <= 0 || (_stopping && _buffer.Count == 0))
                {
                    item = null!;
                    carried = 0;
                    return false;
                }
                if (_inFlight < _maxInFlight && _buffer.TryTake(out item, out carried))
                {
                    _inFlight++;
                    return true;
                }
                // While stopping, wake up by the deadline even if no acknowledgement comes.
                Monitor.Wait(_gate, _stopping ? TimeSpan.FromSeconds((double)left / Stopwatch.Frequency) : Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>Records the outcome of an item in flight that carried <paramref name="carried"/> drops.</summary>
    public void Complete(bool failed, long carried)
    {
        lock (_gate)
        {
            if (_abandoned)
            {
                return;
            }
            _inFlight--;
            if (failed)
            {
                _dropped++;
                // The lost item and the drops it was carrying are reported by the next one instead.
                _buffer.AddDrops(1 + carried);
            }
            else
            {
                _delivered++;
            }
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Waits up to <paramref name="timeout"/> until nothing is buffered or in flight.</summary>
    public bool WaitDrained(TimeSpan timeout)
    {
        long start = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            while (_buffer.Count > 0 || _inFlight > 0)
            {
                var left = timeout - Stopwatch.GetElapsedTime(start);
                if (left <= TimeSpan.Zero)
                {
                    return false;
                }
                Monitor.Wait(_gate, left);
            }
            return true;
        }
    }

    /// <summary>Refuses new items; the sender drains the ring until <paramref name="deadline"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    /// <returns>False when already stopping.</returns>
    public bool Stop(long deadline)
    {
        lock (_gate)
        {
            if (_stopping)
            {
                return false;
            }
            _stopping = true;
            _stopDeadline = deadline;
            Monitor.PulseAll(_gate);
            return true;
        }
    }

    /// <summary>
    /// Counts everything still buffered or in flight as dropped, once the transport can no longer
    /// report (after the sender has left); later <see cref="Complete"/> calls are ignored.
    /// </summary>
    /// <returns>How many items were dropped.</returns>
    public int Abandon()
    {
        lock (_gate)
        {
            int abandoned = _buffer.DiscardAll() + _inFlight;
            _inFlight = 0;
            _abandoned = true;
            _dropped += abandoned;
            Monitor.PulseAll(_gate);
            return abandoned;
        }
    }
}
