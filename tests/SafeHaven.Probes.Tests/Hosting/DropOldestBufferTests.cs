using SafeHaven.Probes.Hosting.Delivery;

namespace SafeHaven.Probes.Tests.Hosting;

/// <summary>The ring alone: drop-oldest order and drop accounting, no Kafka.</summary>
public sealed class DropOldestBufferTests
{
    [Fact]
    public void Keeps_fifo_order_below_capacity_without_drops()
    {
        var ring = new DropOldestBuffer<int>(4);
        Assert.False(ring.Add(1));
        Assert.False(ring.Add(2));
        Assert.False(ring.Add(3));

        Assert.Equal([(1, 0L), (2, 0L), (3, 0L)], TakeAll(ring));
        Assert.False(ring.TryTake(out _, out long none));
        Assert.Equal(0, none);
    }

    [Fact]
    public void When_full_drops_the_oldest_and_the_next_take_carries_the_count_once()
    {
        var ring = new DropOldestBuffer<int>(3);
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(i >= 3, ring.Add(i));
        }

        Assert.Equal(3, ring.Count);
        Assert.Equal(7, ring.PendingDrops);
        // The newest three survive; only the first one taken reports the gap.
        Assert.Equal([(7, 7L), (8, 0L), (9, 0L)], TakeAll(ring));
        Assert.Equal(0, ring.PendingDrops);
    }

    [Fact]
    public void Wraps_around_many_times_keeping_order()
    {
        var ring = new DropOldestBuffer<int>(5);
        var taken = new List<int>();
        long drops = 0;
        for (int i = 0; i < 1000; i++)
        {
            ring.Add(i);
            // Take one for every three added: the ring overflows steadily.
            if (i % 3 == 0 && ring.TryTake(out int item, out long d))
            {
                taken.Add(item);
                drops += d;
            }
        }
        foreach (var (item, d) in TakeAll(ring))
        {
            taken.Add(item);
            drops += d;
        }

        Assert.Equal(taken.Order(), taken);
        Assert.Equal(999, taken[^1]);
        Assert.Equal(1000, taken.Count + drops);
    }

    [Fact]
    public void Drops_added_from_outside_are_reported_by_the_next_take()
    {
        var ring = new DropOldestBuffer<string>(2);
        ring.AddDrops(3);
        Assert.False(ring.TryTake(out _, out long whileEmpty));
        Assert.Equal(0, whileEmpty);
        Assert.Equal(3, ring.PendingDrops);

        ring.Add("a");
        ring.AddDrops(1);
        Assert.True(ring.TryTake(out string? a, out long carried));
        Assert.Equal("a", a);
        Assert.Equal(4, carried);
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.AddDrops(-1));
    }

    [Fact]
    public void DiscardAll_empties_and_counts()
    {
        var ring = new DropOldestBuffer<int>(3);
        ring.Add(1);
        ring.Add(2);

        Assert.Equal(2, ring.DiscardAll());
        Assert.Equal(0, ring.Count);
        Assert.Equal(2, ring.PendingDrops);
        ring.Add(3);
        Assert.Equal([(3, 2L)], TakeAll(ring));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Capacity_must_be_positive(int capacity) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new DropOldestBuffer<int>(capacity));

    private static List<(T Item, long Drops)> TakeAll<T>(DropOldestBuffer<T> ring)
    {
        var all = new List<(T, long)>();
        while (ring.TryTake(out T item, out long drops))
        {
            all.Add((item, drops));
        }
        return all;
    }
}
