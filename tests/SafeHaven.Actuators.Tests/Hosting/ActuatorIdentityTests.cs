using SafeHaven.Actuators.Hosting;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Tests.Hosting;

/// <summary>An agent announces its configured network segment with its other inventory attributes, and none when unset.</summary>
public sealed class ActuatorIdentityTests
{
    [Fact]
    public void The_segment_is_announced_only_when_configured()
    {
        var with = new ActuatorIdentity("dc1", "h1", "rack-7").WithSegment(new Dictionary<string, string> { ["actuatorId"] = "a1" });
        Assert.Equal("rack-7", with[InventoryAttributes.NetworkSegment]);
        Assert.Equal("a1", with["actuatorId"]);

        var without = new ActuatorIdentity("dc1", "h1").WithSegment(new Dictionary<string, string> { ["actuatorId"] = "a1" });
        Assert.False(without.ContainsKey(InventoryAttributes.NetworkSegment));
    }
}
