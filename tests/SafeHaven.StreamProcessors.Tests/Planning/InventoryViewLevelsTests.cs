using SafeHaven.Core;
using SafeHaven.Schemas;
using SafeHaven.StreamProcessors.Planning;

namespace SafeHaven.StreamProcessors.Tests.Planning;

/// <summary>
/// The intermediate levels an agent announces reach the planner only with what they hand out (llc.slots, numa.nodes);
/// a level announced without it, or with a malformed or hostile value, is dropped, so the planner never books a slot
/// the agent does not have.
/// </summary>
public sealed class InventoryViewLevelsTests
{
    [Fact]
    public void Llc_groups_and_whole_nodes_inside_the_pool_reach_the_actuator()
    {
        var a = InventoryView.Actuator(Record([Levels.Core, Levels.Llc, Levels.Numa], "4-11",
            new() { [InventoryAttributes.LlcSlots] = "3", [InventoryAttributes.NumaNodes] = "1:4-7;2:8-11" }))!;
        Assert.Equal(3, a.LlcSlots);
        Assert.Equal("1:4-7;2:8-11", InventoryAttributes.FormatNodes(a.IsolationNodes));
        Assert.Equal([Levels.Core, Levels.Llc, Levels.Numa], a.Levels.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("../1", "1:4-7;../2")]
    [InlineData("-2", "1:4-7;1:4-7")]
    [InlineData("99999999999", "x:4-7")]
    [InlineData("257", "1:0-7")]
    [InlineData("0", "1:")]
    [InlineData("", "1:4-7\n2:8")]
    public void A_level_announced_with_a_bad_or_hostile_value_is_dropped(string llc, string nodes)
    {
        var a = InventoryView.Actuator(Record([Levels.Core, Levels.Llc, Levels.Numa], "4-11",
            new() { [InventoryAttributes.LlcSlots] = llc, [InventoryAttributes.NumaNodes] = nodes }))!;
        Assert.Equal(0, a.LlcSlots);
        Assert.Empty(a.IsolationNodes);
        Assert.Equal([Levels.Core], a.Levels.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Without_the_attributes_only_smt_and_core_stay()
    {
        var a = InventoryView.Actuator(Record([Levels.Smt, Levels.Core, Levels.Llc, Levels.Numa], "1", []))!;
        Assert.Equal([Levels.Core, Levels.Smt], a.Levels.Order(StringComparer.Ordinal));
    }

    private static EntityState Record(string[] levels, string pool, Dictionary<string, string> attributes) => new()
    {
        entityId = "dc1/h1/actuator/a1", kind = InventoryKinds.Actuator, entity = new EntityRef { datacenter = "dc1", host = "h1" },
        levels = [.. levels], counterStatus = new Dictionary<string, string>(), attributes = new Dictionary<string, string>(attributes) { [InventoryAttributes.ActuatorId] = "a1" },
        isolationPool = pool,
    };
}
