using SafeHaven.Probes.Hosting.Delivery;

namespace SafeHaven.Probes.Tests.Hosting;

/// <summary>Runs of items that leave together (one SampleBatch record): where a run must stop.</summary>
public sealed class DeliveryWindowRunTests
{
    private static bool SameTick(string a, string b) => a[0] == b[0];

    [Fact]
    public void A_run_takes_the_neighbours_that_belong_together_and_stops_at_the_next_tick()
    {
        var window = new DeliveryWindow<string>(capacity: 10, maxInFlight: 10);
        window.EnqueueAll(["a1", "a2", "a3"]);
        window.EnqueueAll(["b1", "b2"]);
        var run = new List<string>();

        Assert.True(window.TryNextRun(run, SameTick, max: 100, out var carried));
        Assert.Equal(["a1", "a2", "a3"], run);
        Assert.Equal(0, carried);
        Assert.True(window.TryNextRun(run, SameTick, max: 100, out _));
        Assert.Equal(["b1", "b2"], run);
        Assert.Equal(5, window.InFlight);
    }

    [Fact]
    public void A_run_stops_at_its_maximum_and_at_the_in_flight_cap_and_its_first_item_carries_the_drops()
    {
        var window = new DeliveryWindow<string>(capacity: 3, maxInFlight: 2);
        window.EnqueueAll(["a1", "a2", "a3"]);
        var run = new List<string>();
        Assert.True(window.TryNextRun(run, SameTick, max: 100, out _));
        Assert.Equal(["a1", "a2"], run); // the in-flight cap
        window.Complete(failed: false, 0);
        window.Complete(failed: false, 0);

        // a3 is still buffered; three more overflow the ring of 3 and push a3 out.
        Assert.Equal(1, window.EnqueueAll(["a4", "a5", "a6"]));
        Assert.True(window.TryNextRun(run, SameTick, max: 1, out var carried));
        Assert.Equal(["a4"], run); // the maximum
        Assert.Equal(1, carried); // the drop, reported by the first item after it
        window.Complete(failed: false, 0);
        Assert.True(window.TryNextRun(run, SameTick, max: 100, out carried));
        Assert.Equal(["a5", "a6"], run);
        Assert.Equal(0, carried);
    }
}
