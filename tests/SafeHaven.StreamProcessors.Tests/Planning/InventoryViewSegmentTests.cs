using SafeHaven.Core;
using SafeHaven.Schemas;
using SafeHaven.StreamProcessors.Planning;

namespace SafeHaven.StreamProcessors.Tests.Planning;

/// <summary>An actuator's network segment attribute reaches the planner's view of it (the network scope needs it).</summary>
public sealed class InventoryViewSegmentTests
{
    [Fact]
    public void The_segment_an_agent_announces_is_the_actuators_segment_and_a_bad_one_is_dropped()
    {
        var announced = new Dictionary<string, string> { ["actuatorId"] = "a1", [InventoryAttributes.NetworkSegment] = "rack-7" };
        Assert.Equal("rack-7", InventoryView.Actuator(Record(announced))!.Segment);

        var none = new Dictionary<string, string> { ["actuatorId"] = "a1" };
        Assert.Null(InventoryView.Actuator(Record(none))!.Segment);

        var hostile = new Dictionary<string, string> { ["actuatorId"] = "a1", [InventoryAttributes.NetworkSegment] = "rack 7\n" };
        Assert.Null(InventoryView.Actuator(Record(hostile))!.Segment);
    }

    private static EntityState Record(Dictionary<string, string> attributes) => new()
    {
        entityId = "dc1/h1/actuator/a1", kind = InventoryKinds.Actuator, entity = new EntityRef { datacenter = "dc1", host = "h1" },
        levels = [Levels.Container], counterStatus = new Dictionary<string, string>(), attributes = attributes, isolationPool = "",
    };
}
