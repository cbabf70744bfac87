using SafeHaven.Core.Simulation;

namespace SafeHaven.Core.Tests.Simulation;

public sealed class FleetModelTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    [Fact]
    public void Every_host_publishes_its_processes_and_its_hot_entities_with_consecutive_seq()
    {
        var fleet = new FleetModel(new FleetSpec(Hosts: 10, Processes: 5, Period: Second, Hot: 4));

        var first = Enumerable.Range(0, 10).Select(h => fleet.Batch(h, 0, 1_000)).ToList();
        var second = Enumerable.Range(0, 10).Select(h => fleet.Batch(h, 1, 2_000)).ToList();

        Assert.Equal(5 * 10 + 4, first.Sum(b => b.samples.Count));
        Assert.Equal(10, first.Select(b => b.host).Distinct().Count());
        // Hot entities are spread over the hosts, one host each here.
        Assert.Equal(4, first.Count(b => b.samples.Any(s => s.pid >= FleetModel.HotPid(0))));
        for (var h = 0; h < 10; h++)
        {
            Assert.Equal(first[h].firstSeq + first[h].samples.Count, second[h].firstSeq);
            Assert.All(first[h].samples, s => Assert.Single(s.values));
        }
    }

    [Fact]
    public void Benign_rates_stay_below_the_cap_and_hot_ones_far_above_it()
    {
        var spec = new FleetSpec(Hosts: 50, Processes: 40, Period: TimeSpan.FromMilliseconds(500), Hot: 50, BenignMax: 1_500, HotRate: 50_000);
        var fleet = new FleetModel(spec);

        var samples = Enumerable.Range(0, 50).SelectMany(h => fleet.Batch(h, 0, 0).samples).ToList();
        double Rate(Schemas.SampleEntry s) => s.values[0]!.Value / (s.intervalNs / 1e9);

        Assert.All(samples.Where(s => s.pid < FleetModel.HotPid(0)), s => Assert.InRange(Rate(s), 0, 1_500));
        Assert.All(samples.Where(s => s.pid >= FleetModel.HotPid(0)), s => Assert.InRange(Rate(s), 45_000 - 1, 55_000 + 1));
        // Not one flat rate: a spread, as on real hosts.
        Assert.True(samples.Where(s => s.pid < FleetModel.HotPid(0)).Select(Rate).Distinct().Count() > 100);
    }

    [Fact]
    public void Pulsing_entities_storm_one_tick_in_four_and_hosts_are_dealt_into_datacenters()
    {
        var fleet = new FleetModel(new FleetSpec(Hosts: 6, Processes: 1, Period: Second, Hot: 1, Datacenters: 3, Pulse: true));

        var storming = Enumerable.Range(0, 8).Count(t => fleet.IsStorming(0, t));

        Assert.Equal(2, storming);
        Assert.Equal(["dc1", "dc2", "dc3", "dc1", "dc2", "dc3"], Enumerable.Range(0, 6).Select(fleet.DatacenterOf));
        Assert.Equal("sim-0", fleet.HostId(0));
    }

    [Theory]
    [InlineData(0, 1, 0, 1, "--hosts")]
    [InlineData(1, -1, 0, 1, "--processes")]
    [InlineData(1, 0, 0, 1, "--processes 0")]
    [InlineData(2, 1, 0, 3, "--datacenters")]
    [InlineData(1, 1, 101, 1, "--hot")]
    public void Bad_settings_are_refused_naming_the_flag(int hosts, int processes, int hot, int datacenters, string flag)
    {
        var e = Assert.Throws<ArgumentException>(() => new FleetSpec(hosts, processes, Second, hot, datacenters).Validate());
        Assert.Contains(flag, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_seed_gives_the_same_fleet()
    {
        var spec = new FleetSpec(Hosts: 3, Processes: 10, Period: Second, Hot: 2);
        var a = new FleetModel(spec, seed: 7).Batch(1, 0, 5);
        var b = new FleetModel(spec, seed: 7).Batch(1, 0, 5);

        Assert.Equal(a.samples.Select(s => s.values[0]), b.samples.Select(s => s.values[0]));
    }
}
