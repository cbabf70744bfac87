using Microsoft.Extensions.Configuration;

namespace SafeHaven.Probes.Tests.Hosting;

/// <summary><see cref="ProbeOptions.BufferSamples"/>: default, binding and validation.</summary>
public sealed class BufferSamplesOptionTests
{
    [Fact]
    public void Defaults_to_ten_thousand_and_binds_from_configuration()
    {
        Assert.Equal(10_000, new ProbeOptions().BufferSamples);
        var config = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["SafeHaven:Probe:BufferSamples"] = "250" })
            .Build();

        var options = config.GetSection(ProbeOptions.SectionName).Get<ProbeOptions>()!;

        Assert.Equal(250, options.BufferSamples);
        options.Validate();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void Must_be_positive(int value)
    {
        var e = Assert.ThrowsAny<ArgumentException>(new ProbeOptions { BufferSamples = value }.Validate);
        Assert.Contains("SafeHaven:Probe:BufferSamples", e.Message, StringComparison.Ordinal);
    }
}
