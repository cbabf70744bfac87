using SafeHaven.Core.CrossDc;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Tests.CrossDc;

/// <summary>The agent's fencing-token check on cross-datacenter commands.</summary>
public sealed class LeaseFenceTests
{
    private static IsolationCommand Command(long? epoch, string vm = "v1") => new()
    {
        commandId = "c-" + epoch, entity = new EntityRef { datacenter = "dc1", host = "h1", vm = vm }, level = Levels.Vm, action = Actions.Receive,
        source = "h1-agent", target = "hv9-agent", leaseEpoch = epoch, reasons = [], signature = [],
    };

    [Fact]
    public void A_command_under_an_older_epoch_than_one_admitted_is_refused()
    {
        var fence = new LeaseFence();
        Assert.Null(fence.Admit(Command(3)));
        Assert.Null(fence.Admit(Command(3)));   // the same move's second command, or a redelivery
        Assert.Null(fence.Admit(Command(5)));
        Assert.Contains("lease epoch 4 is below epoch 5", fence.Admit(Command(4)), StringComparison.Ordinal);
        // Another entity, and a move within one datacenter (no epoch), are not fenced by it.
        Assert.Null(fence.Admit(Command(1, vm: "v2")));
        Assert.Null(fence.Admit(Command(null)));
    }

    [Fact]
    public void The_fence_is_bounded_and_forgets_the_oldest_entity_first()
    {
        var fence = new LeaseFence(capacity: 2);
        Assert.Null(fence.Admit(Command(9, "a")));
        Assert.Null(fence.Admit(Command(9, "b")));
        Assert.Null(fence.Admit(Command(9, "c")));
        Assert.Null(fence.Admit(Command(1, "a")));
        Assert.NotNull(fence.Admit(Command(1, "c")));
    }
}
