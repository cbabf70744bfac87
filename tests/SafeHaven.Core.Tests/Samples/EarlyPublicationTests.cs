using SafeHaven.Core.Rules;
using SafeHaven.Core.Samples;

namespace SafeHaven.Core.Tests.Samples;

public sealed class EarlyPublicationTests
{
    private const long Second = 1_000_000_000;
    private const long Ms = 1_000_000;

    private static Rule R(string counter, double threshold) => new("r" + threshold, counter, threshold, "core", 1, TimeSpan.Zero, 0);

    private static KeyValuePair<string, long>[] V(long contextSwitches) => [KeyValuePair.Create("context-switches", contextSwitches)];

    [Fact]
    public void A_storm_is_published_once_its_count_guarantees_the_period_rate()
    {
        var early = new EarlyPublication([R("context-switches", 2000)]);
        // ε × period = 2000 events; strictly above ε.
        Assert.False(early.ShouldPublish(V(2000), 20 * Ms, Second));
        Assert.True(early.ShouldPublish(V(2001), 20 * Ms, Second));
        Assert.True(early.Guarantees("context-switches", 2001, Second));
        Assert.False(early.Guarantees("context-switches", 2000, Second));
    }

    [Fact]
    public void The_lowest_threshold_triggers()
    {
        var early = new EarlyPublication([R("context-switches", 5000), R("context-switches", 2000)]);
        Assert.True(early.TryGetLowestThreshold("context-switches", out double lowest));
        Assert.Equal(2000, lowest);
        Assert.False(early.TryGetLowestThreshold("page-faults", out _));
    }

    [Fact]
    public void A_higher_threshold_that_the_short_window_would_cross_but_the_period_might_not_makes_it_wait()
    {
        var early = new EarlyPublication([R("context-switches", 2000), R("context-switches", 5000)]);
        // 3000 events in 20 ms: 150 000/s over the short window, but only 3000/s guaranteed over the period.
        Assert.False(early.ShouldPublish(V(3000), 20 * Ms, Second));
        // 5001 events: both rules are guaranteed.
        Assert.True(early.ShouldPublish(V(5001), 20 * Ms, Second));
    }

    [Fact]
    public void Another_counter_whose_rule_the_short_window_would_fire_makes_it_wait()
    {
        var early = new EarlyPublication([R("context-switches", 2000), R("page-faults", 100)]);
        KeyValuePair<string, long>[] burst = [KeyValuePair.Create("context-switches", 5000L), KeyValuePair.Create("page-faults", 50L)];
        Assert.False(early.ShouldPublish(burst, 20 * Ms, Second)); // 2500 faults/s over 20 ms, ≤ 50/s guaranteed
        KeyValuePair<string, long>[] quiet = [KeyValuePair.Create("context-switches", 5000L), KeyValuePair.Create("page-faults", 1L)];
        Assert.True(early.ShouldPublish(quiet, 20 * Ms, Second)); // 50 faults/s: below its ε either way
    }

    [Fact]
    public void Never_at_or_past_the_planned_end_nor_without_rules()
    {
        var early = new EarlyPublication([R("context-switches", 2000)]);
        Assert.False(early.ShouldPublish(V(1_000_000), Second, Second));
        Assert.False(early.ShouldPublish(V(1_000_000), 0, Second));
        Assert.False(EarlyPublication.None.ShouldPublish(V(1_000_000), 20 * Ms, Second));
        Assert.False(EarlyPublication.None.IsEnabled);
        Assert.False(early.ShouldPublish([KeyValuePair.Create("page-faults", 1_000_000L)], 20 * Ms, Second));
    }
}
