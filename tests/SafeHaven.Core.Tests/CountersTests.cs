namespace SafeHaven.Core.Tests;

public sealed class CountersTests
{
    [Theory]
    [InlineData("context-switches")]
    [InlineData("page-faults")]
    [InlineData("cpu-migrations")]
    [InlineData("instructions")]
    [InlineData("cache-misses")]
    [InlineData("raw:0x1A2B")]
    [InlineData("raw:0x0")]
    [InlineData("raw:0xffffffffffffffff")]
    [InlineData("tp:sched:sched_switch")]
    [InlineData("proc:voluntary_ctxt_switches")]
    [InlineData("proc:nonvoluntary_ctxt_switches")]
    public void Known_counters_are_valid(string name)
    {
        Assert.True(Counters.IsValid(name, out var error));
        Assert.Equal("", error);
    }

    [Theory]
    [InlineData("bus-locks")]
    [InlineData("Context-Switches")]
    [InlineData("context-switches ")]
    [InlineData("tp:../x:y")]
    [InlineData("tp:sched")]
    [InlineData("tp:sched:sched switch")]
    [InlineData("raw:xyz")]
    [InlineData("raw:0x")]
    [InlineData("raw:1A2B")]
    [InlineData("raw:0x1ffffffffffffffff")]
    [InlineData("proc:bogus")]
    [InlineData("proc:")]
    [InlineData("proc:../../etc/passwd")]
    public void Unknown_counters_are_rejected_with_a_message_naming_them(string name)
    {
        Assert.False(Counters.IsValid(name, out var error));
        Assert.Contains($"unknown counter '{name}'", error, StringComparison.Ordinal);
        Assert.Contains("voluntary_ctxt_switches", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("raw:0x1A2B\n")]
    [InlineData("tp:sched:sched_switch\n")]
    public void Trailing_newline_is_rejected(string name) => Assert.False(Counters.IsValid(name, out _));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void Empty_counter_name_is_rejected(string? name)
    {
        Assert.False(Counters.IsValid(name, out var error));
        Assert.Equal("counter name is empty", error);
    }
}
