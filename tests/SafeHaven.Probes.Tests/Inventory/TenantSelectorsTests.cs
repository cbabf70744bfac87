using SafeHaven.Probes.Inventory;
using SafeHaven.Probes.Proc;

namespace SafeHaven.Probes.Tests.Inventory;

public sealed class TenantSelectorsTests
{
    private static DiscoveredProcess P(string comm, string? container = null, string? vm = null, string? cgroup = null) =>
        new(new ProcessIdentity(100, comm, 1, container) { Vm = vm }, cgroup, ContainerIds.SystemdUnit(cgroup), null);

    private static TenantSelectors Map(params (string Tenant, string[] Selectors)[] tenants) =>
        TenantSelectors.Parse(tenants.ToDictionary(t => t.Tenant, t => (IList<string>)[.. t.Selectors]));

    [Fact]
    public void Most_specific_selector_wins()
    {
        var map = Map(("acme", ["comm:nginx", "cgroup:/system.slice"]), ("beta", ["uid:1001", "unit:db.service", "cgroup:/system.slice/web", "vm:guest1"]),
            ("gamma", ["container:abc123"]));
        Assert.Equal("acme", map.Resolve(P("nginx"), 1000));
        Assert.Equal("beta", map.Resolve(P("nginx"), 1001));                                     // uid before comm
        Assert.Equal("beta", map.Resolve(P("x", cgroup: "/system.slice/web/a.service"), null));   // longer cgroup prefix
        Assert.Equal("acme", map.Resolve(P("x", cgroup: "/system.slice/webx"), null));
        Assert.Equal("beta", map.Resolve(P("x", cgroup: "/system.slice/db.service"), null));      // unit before cgroup
        Assert.Equal("gamma", map.Resolve(P("nginx", container: "abc123"), 1001));                // container before uid
        Assert.Equal("beta", map.Resolve(P("nginx", container: "abc123", vm: "guest1"), null));   // vm first
        Assert.Null(map.Resolve(P("other"), 7));
        Assert.Equal(["acme", "beta", "gamma"], map.Tenants);
        Assert.Equal(["vm:guest1", "unit:db.service", "cgroup:/system.slice/web", "uid:1001"], map.SelectorsOf("beta"));
    }

    [Theory]
    [InlineData("bad tenant", "comm:x", "Tenants")]
    [InlineData("t", "nginx", "not a selector")]
    [InlineData("t", "pid:1", "not a selector")]
    [InlineData("t", "uid:-1", "not a selector")]
    [InlineData("t", "uid:4294967295", "not a selector")]
    [InlineData("t", "uid:007", "not a selector")]
    [InlineData("t", "comm:a-name-longer-than-15", "not a selector")]
    [InlineData("t", "vm:a b", "not a selector")]
    [InlineData("t", "container:../x", "not a selector")]
    [InlineData("t", "unit:web", "not a selector")]
    [InlineData("t", "cgroup:relative", "not a selector")]
    [InlineData("t", "cgroup:/a/../b", "not a selector")]
    public void Bad_selectors_are_rejected_with_the_option_path(string tenant, string selector, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => Map((tenant, [selector])));
        Assert.Contains("SafeHaven:Probe:Tenants", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_selector_belongs_to_one_tenant()
    {
        var e = Assert.Throws<ArgumentException>(() => Map(("a", ["comm:x"]), ("b", ["comm:x"])));
        Assert.Contains("also a selector of tenant", e.Message, StringComparison.Ordinal);
    }
}
