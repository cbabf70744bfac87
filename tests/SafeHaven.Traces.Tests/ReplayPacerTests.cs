namespace SafeHaven.Traces.Tests;

/// <summary>When each entry of a replay is due: the first at once, later ones by their distance from it over the speed.</summary>
public sealed class ReplayPacerTests
{
    private const long T0 = 1_764_800_000_000_000_000L;

    [Fact]
    public void At_recorded_speed_an_entry_is_due_its_distance_after_the_first()
    {
        var pacer = new ReplayPacer(1);
        Assert.Equal(TimeSpan.Zero, pacer.Delay(T0, TimeSpan.FromSeconds(5)));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), pacer.Delay(T0 + 2_000_000_000, TimeSpan.FromMilliseconds(500)));
        Assert.Equal(TimeSpan.Zero, pacer.Delay(T0 + 2_000_000_000, TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public void A_faster_speed_divides_the_distance_and_max_never_waits()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(200), Primed(new ReplayPacer(10)).Delay(T0 + 2_000_000_000, TimeSpan.Zero));
        Assert.Equal(TimeSpan.FromSeconds(4), Primed(new ReplayPacer(0.5)).Delay(T0 + 2_000_000_000, TimeSpan.Zero));
        Assert.Equal(TimeSpan.Zero, Primed(new ReplayPacer(null)).Delay(T0 + 3_600_000_000_000, TimeSpan.Zero));
    }

    [Fact]
    public void An_entry_earlier_than_the_first_is_due_at_once()
    {
        Assert.Equal(TimeSpan.Zero, Primed(new ReplayPacer(1)).Delay(T0 - 5_000_000_000, TimeSpan.Zero));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NaN)]
    public void A_speed_that_is_not_a_positive_factor_is_refused(double speed)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReplayPacer(speed));
    }

    private static ReplayPacer Primed(ReplayPacer pacer)
    {
        pacer.Delay(T0, TimeSpan.Zero);
        return pacer;
    }
}
