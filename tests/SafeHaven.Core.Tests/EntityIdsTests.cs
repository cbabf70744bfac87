using SafeHaven.Schemas;

namespace SafeHaven.Core.Tests;

public sealed class EntityIdsTests
{
    [Fact]
    public void Host_only_entity() =>
        Assert.Equal("dc1/h1", EntityIds.Of(new EntityRef { datacenter = "dc1", host = "h1" }));

    [Fact]
    public void Most_specific_part_wins()
    {
        Assert.Equal("dc1/h1/pid/42", EntityIds.Of(TestData.Process(42, container: "c1", vm: "v1")));
        Assert.Equal("dc1/h1/container/c1", EntityIds.Of(new EntityRef { datacenter = "dc1", host = "h1", container = "c1", vm = "v1" }));
        Assert.Equal("dc1/h1/vm/v1", EntityIds.Of(TestData.Vm("v1")));
    }

    [Fact]
    public void OfHost_matches_a_host_entity()
    {
        Assert.Equal("dc1/h1", EntityIds.OfHost("dc1", "h1"));
        Assert.Throws<ArgumentException>(() => EntityIds.OfHost("dc1", "../h1"));
    }

    [Theory]
    [InlineData("../dc", "h1", null, null, 1, "datacenter")]
    [InlineData("dc1", "h/1", null, null, 1, "host")]
    [InlineData("dc1", "h1", null, null, 0, "pid")]
    [InlineData("dc1", "h1", null, null, -5, "pid")]
    [InlineData("dc1", "h1", null, "../../x", null, "container")]
    [InlineData("dc1", "h1", "vm;reboot", null, null, "vm")]
    [InlineData(null, "h1", null, null, null, "datacenter")]
    public void Every_part_is_validated(string? dc, string? host, string? vm, string? container, int? pid, string param)
    {
        var entity = new EntityRef { datacenter = dc, host = host, vm = vm, container = container, pid = pid };
        var e = Assert.Throws<ArgumentException>(() => EntityIds.Of(entity));
        Assert.Equal(param, e.ParamName);
    }

    [Fact]
    public void Null_entity_throws() => Assert.Throws<ArgumentNullException>(() => EntityIds.Of(null!));
}
