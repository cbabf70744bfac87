using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Tests.Placement;

/// <summary>Machine-scope targets must run no other tenant (docs/DESIGN.md §2), as the inventory reports them.</summary>
public sealed class TenantPlacementTests
{
    private static EntityRef Suspect() => new() { datacenter = "dc1", host = "h1", container = "c1" };

    private static PlannerHarness Harness() => new PlannerHarness()
        .With("a1", "h1", "", Levels.Container)
        .With("a2", "h2", "", Levels.Container)
        .With("a3", "h3", "", Levels.Container);

    [Fact]
    public void A_host_running_another_tenant_is_skipped_with_the_reason()
    {
        var h = Harness();
        h.Book.Tenants.Set("dc1/h1/container/c1", "dc1", "h1", "mallory");
        h.Book.Tenants.Set("dc1/h2/pid/7", "dc1", "h2", "alice");
        h.Book.Tenants.Set("dc1/h3/pid/8", "dc1", "h3", null); // infrastructure: no tenant label

        var cmd = h.Isolate(Suspect(), Scopes.Machine);

        Assert.Equal("a3", cmd.target);
    }

    [Fact]
    public void No_fit_host_means_no_command_and_every_refusal_is_named()
    {
        var h = Harness();
        h.Book.Tenants.Set("dc1/h2/pid/7", "dc1", "h2", "alice");
        h.Book.Tenants.Set("dc1/h3/pid/8", "dc1", "h3", "bob");

        var decision = h.Plan(PlannerHarness.Detection(Suspect(), Scopes.Machine));

        Assert.Null(decision.Command);
        Assert.Contains(decision.Reasons, r => r.Contains("h2 runs tenant alice", StringComparison.Ordinal) && r.Contains("h3 runs tenant bob", StringComparison.Ordinal));
    }

    [Fact]
    public void The_suspects_own_tenant_does_not_block_a_host_and_a_tombstone_frees_one()
    {
        var h = Harness();
        h.Book.Tenants.Set("dc1/h1/container/c1", "dc1", "h1", "mallory");
        h.Book.Tenants.Set("dc1/h2/pid/7", "dc1", "h2", "mallory");
        h.Book.Tenants.Set("dc1/h3/pid/8", "dc1", "h3", "bob");
        Assert.Equal("a2", h.Isolate(Suspect(), Scopes.Machine).target);

        var other = new EntityRef { datacenter = "dc1", host = "h1", container = "c2" };
        Assert.Null(h.Plan(PlannerHarness.Detection(other, Scopes.Machine, "h1:2:r1")).Command);
        h.Book.Tenants.Remove("dc1/h3/pid/8");
        Assert.Null(h.Plan(PlannerHarness.Detection(other, Scopes.Machine, "h1:3:r1")).Command); // it already waits
        Assert.Equal("a3", Assert.Single(h.Planner.Retry()).Command?.target);
        Assert.Equal(0, h.Planner.Unplaced);
    }

    [Fact]
    public void Other_tenants_are_per_host_distinct_and_sorted()
    {
        var map = new TenantMap();
        map.Set("e1", "dc1", "h1", "zed");
        map.Set("e2", "dc1", "h1", "alice");
        map.Set("e3", "dc1", "h1", "alice");
        map.Set("e4", "dc2", "h1", "bob");

        Assert.Equal(["alice", "zed"], map.OtherTenants("dc1", "h1", null));
        Assert.Equal(["zed"], map.OtherTenants("dc1", "h1", "alice"));
        Assert.Equal(["bob"], map.OtherTenants("dc2", "h1", "alice"));
        Assert.Equal("zed", map.TenantOf("e1"));
        Assert.Null(map.TenantOf("nope"));
    }

    [Fact]
    public void A_hypervisor_without_room_for_the_vm_is_skipped()
    {
        var h = new PlannerHarness();
        h.Book.Upsert(new ActuatorInfo("hv-a", "dc1", "h1", new HashSet<string> { Levels.Vm }, CpuList.Empty, 8192));
        h.Book.Upsert(new ActuatorInfo("hv-b", "dc1", "h2", new HashSet<string> { Levels.Vm }, CpuList.Empty, 1024));
        h.Book.Upsert(new ActuatorInfo("hv-c", "dc1", "h3", new HashSet<string> { Levels.Vm }, CpuList.Empty, 4096));
        var vm = new EntityRef { datacenter = "dc1", host = "h1", vm = "guest", pid = 77 };
        h.Book.Tenants.Set("dc1/h1/pid/77", "dc1", "h1", null);
        h.Book.Tenants.SetVmMemory("dc1/h1/pid/77", 2048);

        var decision = h.Plan(PlannerHarness.Detection(vm, Scopes.Vm));

        Assert.Equal("hv-c", decision.Command?.target);
        Assert.Equal(2048, h.Book.Tenants.VmMemoryOf("dc1/h1/pid/77"));
    }

    [Fact]
    public void A_long_detection_id_still_gives_a_valid_command_id()
    {
        var h = new PlannerHarness().With("a1", "h1", "2", Levels.Core);
        var longId = "h1:1764000000123456789:9007199254740993:" + new string('r', 100);

        var cmd = h.Isolate(new EntityRef { datacenter = "dc1", host = "h1", pid = 5 }, Scopes.Core, longId);

        Assert.True(Identifiers.IsId(cmd.commandId), cmd.commandId);
        Assert.True(Identifiers.IsId(cmd.commandId + Actions.ReceiveIdSuffix), "room for a receive command's suffix");
        Assert.Matches("^c-[0-9a-f]{32}-core$", cmd.commandId);
        Assert.Equal(longId, cmd.detectionId);
    }

    [Fact]
    public void A_detection_that_came_before_its_actuator_is_placed_when_the_actuator_appears()
    {
        var h = new PlannerHarness();
        var suspect = new EntityRef { datacenter = "dc1", host = "h1", pid = 9 };

        var early = h.Plan(PlannerHarness.Detection(suspect, Scopes.Core, "h1:5:r1"));
        Assert.Null(early.Command);
        Assert.Equal(1, h.Planner.Unplaced);
        Assert.Empty(h.Planner.Retry()); // nothing changed yet: still no target, still waiting
        Assert.Equal(1, h.Planner.Unplaced);

        h.With("a1", "h1", "3", Levels.Core);
        var retried = Assert.Single(h.Planner.Retry());

        Assert.Equal(("a1", "3", "h1:5:r1"), (retried.Command!.source, retried.Command.target, retried.Command.detectionId));
        Assert.Equal(0, h.Planner.Unplaced);
    }
}
