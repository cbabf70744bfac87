using Microsoft.Extensions.Configuration;

namespace SafeHaven.Probes.Tests;

public sealed class ProbeOptionsTests
{
    [Fact]
    public void Defaults_are_valid()
    {
        var o = new ProbeOptions();
        o.Validate();
        Assert.Equal("local", o.Datacenter);
        Assert.Equal(TimeSpan.FromSeconds(1), o.Period);
        Assert.Equal(["context-switches", "page-faults"], o.EffectiveCounters);
        Assert.Empty(o.Pids);
        Assert.Empty(o.Comms);
    }

    [Theory]
    [InlineData("Counters", "no-such-counter")]
    [InlineData("Period", "")]
    [InlineData("HostId", "bad host")]
    [InlineData("Datacenter", "-dc")]
    [InlineData("Pids", "")]
    [InlineData("Comms", "")]
    [InlineData("MaxConcurrentProcesses", "-1")]
    public void Validate_names_the_bad_option(string option, string expectedInMessage)
    {
        var o = new ProbeOptions();
        switch (option)
        {
            case "Counters": o.Counters = ["context-switches", "no-such-counter"]; break;
            case "Period": o.Period = TimeSpan.Zero; break;
            case "HostId": o.HostId = "bad host"; break;
            case "Datacenter": o.Datacenter = "-dc"; break;
            case "Pids": o.Pids = [0]; break;
            case "Comms": o.Comms = ["a-name-longer-than-15"]; break;
            case "MaxConcurrentProcesses": o.MaxConcurrentProcesses = -1; break;
        }
        var e = Assert.ThrowsAny<ArgumentException>(o.Validate);
        Assert.Contains("SafeHaven:Probe:" + option, e.Message, StringComparison.Ordinal);
        Assert.Contains(expectedInMessage, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_counter_is_rejected()
    {
        var o = new ProbeOptions { Counters = ["cs", "cs"] };
        Assert.Contains("listed twice", Assert.Throws<ArgumentException>(o.Validate).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Configured_counters_replace_the_defaults()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SafeHaven:Probe:Counters:0"] = "task-clock",
            ["SafeHaven:Probe:Period"] = "00:00:00.250",
            ["SafeHaven:Probe:Pids:0"] = "1",
        }).Build();
        var o = config.GetSection(ProbeOptions.SectionName).Get<ProbeOptions>()!;
        Assert.Equal(["task-clock"], o.EffectiveCounters);
        Assert.Equal(TimeSpan.FromMilliseconds(250), o.Period);
        Assert.Equal([1], o.Pids);
    }
}
