using SafeHaven.StreamProcessors.Detection;

namespace SafeHaven.StreamProcessors.Tests.Detection;

/// <summary>When a detector that lost every partition rejoins its group (issue 13), and when it is left alone.</summary>
public sealed class PartitionWatchdogTests
{
    private static PartitionWatchdog New() => new(TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(30));

    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    [Fact]
    public void An_instance_that_held_partitions_and_then_none_for_the_stall_time_rejoins()
    {
        var w = New();
        Assert.False(w.Observe(3, S(0)));
        Assert.False(w.Observe(0, S(1)));
        Assert.False(w.Observe(0, S(4.9)));
        Assert.True(w.Observe(0, S(5)));
    }

    [Fact]
    public void A_rebalance_shorter_than_the_stall_time_is_not_a_stall_and_the_next_loss_starts_a_new_spell()
    {
        var w = New();
        Assert.False(w.Observe(3, S(0)));
        Assert.False(w.Observe(0, S(1)));
        Assert.False(w.Observe(6, S(3)));
        Assert.False(w.Observe(0, S(6)));
        Assert.False(w.Observe(0, S(9.9)));
        Assert.True(w.Observe(0, S(10)));
    }

    [Fact]
    public void An_instance_that_never_held_a_partition_is_left_alone()
    {
        var w = New();
        for (var t = 0; t < 600; t++)
        {
            Assert.False(w.Observe(0, S(t)));
        }
    }

    [Fact]
    public void A_new_member_that_gets_nothing_either_is_replaced_again_after_doubling_waits_up_to_the_cap()
    {
        var w = New();
        w.Observe(2, S(0));
        var rejoins = new List<double>();
        for (var t = 0.0; t <= 200; t += 0.5)
        {
            if (w.Observe(0, S(1 + t)))
            {
                rejoins.Add(1 + t);
            }
        }
        // 4 s, then 8, 16, 30 (the cap), 30, ...
        Assert.Equal([5, 13, 29, 59, 89, 119, 149, 179], rejoins);
    }

    [Fact]
    public void Holding_partitions_again_resets_the_wait_to_the_stall_time()
    {
        var w = New();
        w.Observe(2, S(0));
        Assert.False(w.Observe(0, S(4)));
        Assert.True(w.Observe(0, S(8)));
        Assert.False(w.Observe(0, S(15.9)));
        Assert.True(w.Observe(0, S(16)));
        Assert.False(w.Observe(3, S(17)));
        Assert.False(w.Observe(0, S(18)));
        Assert.True(w.Observe(0, S(22)));
    }
}
