using SafeHaven.Core.Rules;

namespace SafeHaven.Core.Tests.Rules;

public sealed class DurationsTests
{
    [Theory]
    [InlineData("500ms", 5_000_000L)]
    [InlineData("30s", 300_000_000L)]
    [InlineData("2m", 1_200_000_000L)]
    [InlineData("1h", 36_000_000_000L)]
    [InlineData("1.5s", 15_000_000L)]
    [InlineData("0s", 0L)]
    public void Parses_numbers_with_a_unit(string text, long ticks)
    {
        Assert.True(Durations.TryParse(text, out var value, out var error));
        Assert.Equal("", error);
        Assert.Equal(ticks, value.Ticks);
        Assert.Equal(TimeSpan.FromTicks(ticks), Durations.Parse(text));
    }

    [Theory]
    [InlineData("30")]
    [InlineData("-1s")]
    [InlineData("soon")]
    [InlineData("")]
    [InlineData("1d")]
    [InlineData("1 s")]
    [InlineData(" 1s")]
    [InlineData("1S")]
    [InlineData("1.s")]
    [InlineData(".5s")]
    [InlineData("1e3ms")]
    [InlineData("1s2")]
    public void Rejects_anything_else_with_a_reason(string text)
    {
        Assert.False(Durations.TryParse(text, out var value, out var error));
        Assert.Equal(TimeSpan.Zero, value);
        Assert.Equal($"'{text}' is not a duration (expected a number with a unit: 500ms, 30s, 2m, 1h)", error);
        var e = Assert.Throws<FormatException>(() => Durations.Parse(text));
        Assert.Equal(error, e.Message);
    }

    [Fact]
    public void Null_is_not_a_duration()
    {
        Assert.False(Durations.TryParse(null, out _, out var error));
        Assert.Contains("is not a duration", error, StringComparison.Ordinal);
    }
}
