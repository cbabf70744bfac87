using SafeHaven.StreamProcessors.Detection;

namespace SafeHaven.StreamProcessors.Tests.Detection;

/// <summary>When a detector that lost every partition rejoins its group (issue 13), and when it is left alone.</summary>
public sealed class PartitionWatchdogTests
{
    private static readonly TimeSpan Stall = TimeSpan.FromSeconds(6);

    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    [Fact]
    public void An_instance_that_held_partitions_and_then_none_for_the_stall_time_rejoins_once()
    {
        var w = new PartitionWatchdog(Stall);
        Assert.False(w.Observe(3, S(0)));
        Assert.False(w.Observe(0, S(1)));
        Assert.False(w.Observe(0, S(6.9)));
        Assert.True(w.Observe(0, S(7)));
        // Starts over as a fresh instance: no second rejoin until it has held partitions again.
        Assert.False(w.Observe(0, S(20)));
        Assert.False(w.Observe(0, S(60)));
    }

    [Fact]
    public void A_rebalance_shorter_than_the_stall_time_is_not_a_stall()
    {
        var w = new PartitionWatchdog(Stall);
        Assert.False(w.Observe(3, S(0)));
        Assert.False(w.Observe(0, S(1)));
        Assert.False(w.Observe(6, S(5)));
        // The empty spell starts again from the next loss, not from the first one.
        Assert.False(w.Observe(0, S(6)));
        Assert.False(w.Observe(0, S(11.5)));
        Assert.True(w.Observe(0, S(12)));
    }

    [Fact]
    public void An_instance_that_never_held_a_partition_is_left_alone()
    {
        var w = new PartitionWatchdog(Stall);
        for (var t = 0; t < 120; t++)
        {
            Assert.False(w.Observe(0, S(t)));
        }
    }

    [Fact]
    public void After_a_rejoin_that_got_partitions_back_a_later_stall_is_caught_again()
    {
        var w = new PartitionWatchdog(Stall);
        w.Observe(2, S(0));
        Assert.True(w.Observe(0, S(1)) || w.Observe(0, S(7)));
        Assert.False(w.Observe(3, S(9)));
        Assert.False(w.Observe(0, S(10)));
        Assert.True(w.Observe(0, S(16)));
    }
}
