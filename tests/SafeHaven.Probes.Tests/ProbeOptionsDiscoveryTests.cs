using Microsoft.Extensions.Configuration;
using SafeHaven.Probes.Inventory;
using SafeHaven.Probes.Proc;

namespace SafeHaven.Probes.Tests;

public sealed class ProbeOptionsDiscoveryTests
{
    [Theory]
    [InlineData("Uids", "4294967295")]
    [InlineData("Cgroups", "system.slice")]
    [InlineData("Cgroups", "/a/../b")]
    [InlineData("Cgroups", "/a//b")]
    [InlineData("Containers", "../etc")]
    [InlineData("Tenants", "comm:")]
    public void Validate_names_the_bad_discovery_option(string option, string expectedInMessage)
    {
        var o = new ProbeOptions();
        switch (option)
        {
            case "Uids": o.Uids = [uint.MaxValue]; break;
            case "Cgroups": o.Cgroups = [expectedInMessage]; break;
            case "Containers": o.Containers = ["../etc"]; break;
            case "Tenants": o.Tenants["acme"] = ["comm:"]; break;
        }
        var e = Assert.ThrowsAny<ArgumentException>(o.Validate);
        Assert.Contains("SafeHaven:Probe:" + option, e.Message, StringComparison.Ordinal);
        Assert.Contains(expectedInMessage, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Discovery_options_and_tenants_bind_from_configuration()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SafeHaven:Probe:Uids:0"] = "1000",
            ["SafeHaven:Probe:Cgroups:0"] = "/system.slice/",
            ["SafeHaven:Probe:Containers:0"] = "web01",
            ["SafeHaven:Probe:Tenants:acme:0"] = "comm:nginx",
            ["SafeHaven:Probe:Tenants:acme:1"] = "uid:33",
            ["SafeHaven:Probe:Tenants:beta:0"] = "vm:guest1",
        }).Build();
        var o = config.GetSection(ProbeOptions.SectionName).Get<ProbeOptions>()!;
        o.Validate();

        var filter = DiscoveryFilter.From(o);
        Assert.Equal([1000u], filter.Uids);
        Assert.Equal(["/system.slice"], filter.Cgroups);
        Assert.Equal(["web01"], filter.Containers);
        var tenants = TenantSelectors.Parse(o.Tenants);
        Assert.Equal(["acme", "beta"], tenants.Tenants);
        Assert.Equal(["uid:33", "comm:nginx"], tenants.SelectorsOf("acme"));
    }
}
