using Xunit.Abstractions;

namespace SafeHaven.Probes.Tests;

// TEMPORARY (not committed): repeats the overflow early-publication case.
public sealed class TmpRepeat(ITestOutputHelper output)
{
    public static TheoryData<int> Runs()
    {
        var d = new TheoryData<int>();
        int n = int.Parse(Environment.GetEnvironmentVariable("OVF_N") ?? "1", System.Globalization.CultureInfo.InvariantCulture);
        for (int i = 0; i < n; i++)
        {
            d.Add(i);
        }
        return d;
    }

    [Theory]
    [MemberData(nameof(Runs))]
    public async Task Repeat(int run)
    {
        output.WriteLine($"run {run}");
        await new SamplerEarlyTests(output).A_storm_is_published_within_the_period_and_every_process_still_gives_one_sample_per_period(true);
    }
}
