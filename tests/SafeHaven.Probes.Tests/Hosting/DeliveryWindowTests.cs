using System.Diagnostics;
using SafeHaven.Probes.Hosting.Delivery;

namespace SafeHaven.Probes.Tests.Hosting;

/// <summary>The in-flight cap and the drop accounting around it, with a fake transport.</summary>
public sealed class DeliveryWindowTests
{
    [Fact]
    public void Holds_back_items_beyond_the_in_flight_cap_so_the_ring_drops_the_oldest()
    {
        var window = new DeliveryWindow<string>(capacity: 3, maxInFlight: 2);
        foreach (var s in new[] { "a", "b" })
        {
            window.Enqueue(s);
            Assert.True(window.TryNext(out string item, out _));
            Assert.Equal(s, item);
        }

        // The transport is stuck: everything else stays in the ring, which overflows.
        Assert.False(window.Enqueue("c"));
        Assert.False(window.Enqueue("d"));
        Assert.False(window.Enqueue("e"));
        Assert.True(window.Enqueue("f"));
        Assert.True(window.Enqueue("g"));
        Assert.Equal((2, 3, 2L), (window.InFlight, window.Buffered, window.Dropped));

        window.Complete(failed: false, carried: 0);
        Assert.True(window.TryNext(out string next, out long carried));
        Assert.Equal(("e", 2L), (next, carried));
    }

    [Fact]
    public void A_failed_item_is_dropped_and_its_carried_drops_move_to_the_next_item()
    {
        var window = new DeliveryWindow<string>(capacity: 1, maxInFlight: 1);
        window.Enqueue("a");
        window.Enqueue("b");
        Assert.True(window.TryNext(out _, out long carried));
        Assert.Equal(1, carried);

        window.Complete(failed: true, carried);
        window.Enqueue("c");
        Assert.True(window.TryNext(out string next, out long nextCarried));
        Assert.Equal(("c", 2L), (next, nextCarried));
        Assert.Equal(2, window.Dropped);
    }

    [Fact]
    public void Stopping_lets_the_sender_drain_then_leave_and_refuses_new_items()
    {
        var window = new DeliveryWindow<string>(capacity: 4, maxInFlight: 4);
        window.Enqueue("a");
        Assert.True(window.Stop(Stopwatch.GetTimestamp() + Stopwatch.Frequency * 60));
        Assert.False(window.Stop(0));
        Assert.Throws<InvalidOperationException>(() => window.Enqueue("b"));

        Assert.True(window.TryNext(out string item, out _));
        Assert.Equal("a", item);
        Assert.False(window.TryNext(out _, out _));
    }

    [Fact]
    public async Task Stopping_with_a_past_deadline_releases_a_sender_blocked_on_the_cap()
    {
        var window = new DeliveryWindow<string>(capacity: 4, maxInFlight: 1);
        window.Enqueue("a");
        window.Enqueue("b");
        Assert.True(window.TryNext(out _, out _));
        var sender = Task.Run(() => window.TryNext(out _, out _));

        window.Stop(Stopwatch.GetTimestamp());

        Assert.False(await sender.WaitAsync(TimeSpan.FromSeconds(10)));
        // One buffered and one in flight are abandoned; a late acknowledgement changes nothing.
        Assert.Equal(2, window.Abandon());
        window.Complete(failed: false, carried: 0);
        Assert.Equal((0, 0, 0L, 2L), (window.Buffered, window.InFlight, window.Delivered, window.Dropped));
    }

    [Fact]
    public void WaitDrained_returns_once_the_last_item_is_acknowledged()
    {
        var window = new DeliveryWindow<string>(capacity: 4, maxInFlight: 4);
        window.Enqueue("a");
        Assert.False(window.WaitDrained(TimeSpan.Zero));
        Assert.True(window.TryNext(out _, out _));
        Assert.False(window.WaitDrained(TimeSpan.Zero));

        window.Complete(failed: false, carried: 0);
        Assert.True(window.WaitDrained(TimeSpan.Zero));
        Assert.Equal(1, window.Delivered);
    }
}
