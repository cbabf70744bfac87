using SafeHaven.StreamProcessors.Detection;

namespace SafeHaven.StreamProcessors.Tests.Detection;

/// <summary>When a detector that lost every partition rejoins its group (issue 13), and when it is left alone.</summary>
public sealed class PartitionWatchdogTests
{
    private const bool Rebalancing = true;
    private const bool Running = false;

    private static PartitionWatchdog New() => new(TimeSpan.FromSeconds(6), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30));

    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    [Fact]
    public void Held_then_none_while_rebalancing_rejoins_after_the_stall_time()
    {
        var w = New();
        Assert.False(w.Observe(3, Running, 1, S(0)));
        Assert.False(w.Observe(0, Rebalancing, 1, S(1)));
        Assert.False(w.Observe(0, Rebalancing, 1, S(6.9)));
        Assert.True(w.Observe(0, Rebalancing, 1, S(7)));
    }

    [Fact]
    public void Held_then_none_while_the_stream_claims_to_run_rejoins_after_the_shorter_time()
    {
        var w = New();
        Assert.False(w.Observe(3, Running, 1, S(0)));
        Assert.False(w.Observe(0, Running, 1, S(1)));
        Assert.False(w.Observe(0, Running, 1, S(2.9)));
        Assert.True(w.Observe(0, Running, 1, S(3)));
    }

    [Fact]
    public void A_rebalance_shorter_than_the_stall_time_is_not_a_stall_and_the_next_loss_starts_a_new_spell()
    {
        var w = New();
        Assert.False(w.Observe(3, Running, 1, S(0)));
        Assert.False(w.Observe(0, Rebalancing, 1, S(1)));
        Assert.False(w.Observe(6, Running, 2, S(5)));
        Assert.False(w.Observe(0, Rebalancing, 2, S(6)));
        Assert.False(w.Observe(0, Rebalancing, 2, S(11.9)));
        Assert.True(w.Observe(0, Rebalancing, 2, S(12)));
    }

    [Fact]
    public void An_assignment_between_two_looks_counts_as_holding_partitions()
    {
        var w = New();
        Assert.False(w.Observe(3, Running, 1, S(0)));
        Assert.False(w.Observe(0, Rebalancing, 1, S(1)));
        // Assigned and lost again between looks: the spell starts over.
        Assert.False(w.Observe(0, Rebalancing, 2, S(5)));
        Assert.False(w.Observe(0, Rebalancing, 2, S(10.9)));
        Assert.True(w.Observe(0, Rebalancing, 2, S(11)));
    }

    [Fact]
    public void An_instance_that_never_held_a_partition_is_left_alone_running_or_not()
    {
        var w = New();
        for (var t = 0; t < 600; t++)
        {
            Assert.False(w.Observe(0, t % 2 == 0, 0, S(t)));
        }
    }

    [Fact]
    public void A_new_member_that_gets_nothing_either_is_replaced_again_after_doubling_waits_up_to_the_cap()
    {
        var w = New();
        w.Observe(2, Running, 1, S(0));
        var rejoins = new List<double>();
        for (var t = 0.0; t <= 200; t += 0.5)
        {
            if (w.Observe(0, Rebalancing, 1, S(1 + t)))
            {
                rejoins.Add(1 + t);
            }
        }
        // 6 s, then 12, 24, 30 (the cap), 30, ...
        Assert.Equal([7, 19, 43, 73, 103, 133, 163, 193], rejoins);
    }

    [Fact]
    public void Holding_partitions_again_resets_the_waits()
    {
        var w = New();
        w.Observe(2, Running, 1, S(0));
        Assert.False(w.Observe(0, Running, 1, S(1)));
        Assert.True(w.Observe(0, Running, 1, S(3)));
        Assert.False(w.Observe(0, Running, 1, S(6.9)));
        Assert.True(w.Observe(0, Running, 1, S(7)));
        Assert.False(w.Observe(3, Running, 2, S(8)));
        Assert.False(w.Observe(0, Running, 2, S(9)));
        Assert.True(w.Observe(0, Running, 2, S(11)));
    }
}
