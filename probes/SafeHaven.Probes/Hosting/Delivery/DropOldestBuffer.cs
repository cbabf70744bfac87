namespace SafeHaven.Probes.Hosting.Delivery;

/// <summary>
/// A bounded FIFO that, when full, discards its oldest item to make room, and counts what it
/// lost so that the next item taken out can carry the count.
/// </summary>
/// <remarks>
/// Oldest-first because for counter telemetry the newest samples matter most: after an outage
/// the detector needs the current rates, not the ones from the start of the gap.
/// Not thread-safe: the owner serialises access (one lock shared with its in-flight count).
/// </remarks>
/// <typeparam name="T">The buffered item.</typeparam>
internal sealed class DropOldestBuffer<T>
{
    private readonly T[] _items;
    private int _head;
    private int _count;
    private long _pendingDrops;

    /// <summary>Creates an empty buffer of <paramref name="capacity"/> items.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is not positive.</exception>
    public DropOldestBuffer(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _items = new T[capacity];
    }

    /// <summary>The most items the buffer holds.</summary>
    public int Capacity => _items.Length;

    /// <summary>Items waiting to be taken.</summary>
    public int Count => _count;

    /// <summary>Items lost since the last successful <see cref="TryTake"/>: what the next taken item will carry.</summary>
    public long PendingDrops => _pendingDrops;

    /// <summary>Appends <paramref name="item"/>; when full, first discards (and counts) the oldest item.</summary>
    /// <returns>True when an item was discarded to make room.</returns>
    public bool Add(T item)
    {
        bool dropped = false;
        if (_count == _items.Length)
        {
            // Overwrite in place: the slot of the oldest item becomes the newest one.
            _head = (_head + 1) % _items.Length;
            _count--;
            _pendingDrops++;
            dropped = true;
        }
        _items[(_head + _count) % _items.Length] = item;
        _count++;
        return dropped;
    }

    /// <summary>The oldest item without removing it; false when the buffer is empty.</summary>
    public bool TryPeek(out T item)
    {
        item = _count == 0 ? default! : _items[_head];
        return _count > 0;
    }

    /// <summary>
    /// Removes the oldest item and hands over the drops counted since the previous take, which
    /// then start again from zero.
    /// </summary>
    /// <param name="item">The oldest item, or default when the buffer is empty.</param>
    /// <param name="dropsBefore">Items lost since the previous take; 0 when the buffer is empty.</param>
    /// <returns>False when the buffer is empty (the pending drops stay pending).</returns>
    public bool TryTake(out T item, out long dropsBefore)
    {
        if (_count == 0)
        {
            item = default!;
            dropsBefore = 0;
            return false;
        }
        item = _items[_head];
        // Release the reference: a ring of 10 000 samples should not pin taken ones.
        _items[_head] = default!;
        _head = (_head + 1) % _items.Length;
        _count--;
        dropsBefore = _pendingDrops;
        _pendingDrops = 0;
        return true;
    }

    /// <summary>
    /// Counts items lost outside the buffer (a failed delivery, or drops a lost item was carrying),
    /// so the next taken item reports them too.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative.</exception>
    public void AddDrops(long count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _pendingDrops += count;
    }

    /// <summary>Discards every item, counting each as dropped.</summary>
    /// <returns>The number of items discarded.</returns>
    public int DiscardAll()
    {
        int discarded = _count;
        Array.Clear(_items);
        _head = 0;
        _count = 0;
        _pendingDrops += discarded;
        return discarded;
    }
}
