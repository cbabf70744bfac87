using Microsoft.Extensions.Time.Testing;
using SafeHaven.Core.CrossDc;
using SafeHaven.Core.Placement;
using SafeHaven.Core.Tests.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Tests.CrossDc;

/// <summary>When a detection leaves its datacenter, and the target planner's refusal while another datacenter's lease lives.</summary>
public sealed class CrossDcPolicyTests
{
    private static readonly EntityRef Vm = new() { datacenter = "dc1", host = "h1", vm = "v1" };

    [Fact]
    public void A_vm_no_host_of_its_datacenter_can_take_leaves_at_the_vm_level()
    {
        // dc1 has only the suspect's own host: no level has room.
        var dc1 = new PlannerHarness().With("h1-agent", "h1", "2-3", Levels.Core, Levels.Vm);
        var detection = PlannerHarness.Detection(Vm, Scopes.Machine);
        var decision = dc1.Plan(detection);
        Assert.Null(decision.Command);
        Assert.Equal(Levels.Vm, CrossDcPolicy.LevelToLeave(detection, decision));
    }

    [Fact]
    public void A_detection_placed_at_home_or_not_movable_between_hosts_stays()
    {
        var dc1 = new PlannerHarness().With("h1-agent", "h1", "2-3", Levels.Core, Levels.Vm).With("h2-agent", "h2", "2-3", Levels.Vm);
        var placed = PlannerHarness.Detection(Vm, Scopes.Machine);
        Assert.Null(CrossDcPolicy.LevelToLeave(placed, dc1.Plan(placed)));

        var lonely = new PlannerHarness().With("h1-agent", "h1", "", Levels.Core);
        var process = PlannerHarness.Detection(new EntityRef { datacenter = "dc1", host = "h1", pid = 42 }, Scopes.Core, "h1:2:r1");
        var parked = lonely.Plan(process);
        Assert.Null(parked.Command);
        Assert.Null(CrossDcPolicy.LevelToLeave(process, parked));
    }

    [Fact]
    public void The_target_planner_plans_nothing_for_an_entity_another_datacenter_holds_the_lease_of()
    {
        var time = new FakeTimeProvider(PlannerHarness.Start);
        var leases = new ActionLeaseBook(time);
        var book = new PlacementBook("p2");
        book.Upsert(PlacementBookTests.Actuator("hv9-agent", "hv9", "", levels: [Levels.Vm]));
        book.Upsert(PlacementBookTests.Actuator("h1-agent", "h1", "", levels: [Levels.Vm]));
        var planner = new Planner(book, time, new PlannerSettings(TimeSpan.FromSeconds(5)) { LeaseRefusal = id => leases.Refusal(id, "dc2") });
        var entityId = EntityIds.Of(Vm);
        var lease = leases.NewLease(entityId, "dc1", "dc1-kafka", "p1", TimeSpan.FromSeconds(30), "move");
        Assert.Equal(LeaseVerdict.Won, leases.Apply(entityId, lease));

        var competing = planner.Plan(PlannerHarness.Detection(Vm, Scopes.Machine));
        Assert.Null(competing.Command);
        Assert.Empty(competing.Records);
        Assert.Contains("action lease of datacenter dc1", Assert.Single(competing.Reasons), StringComparison.Ordinal);

        // Released: the same detection (redelivered) is planned.
        leases.Apply(entityId, ActionLeaseBook.ReleaseOf(lease, "done"));
        Assert.NotNull(planner.Plan(PlannerHarness.Detection(Vm, Scopes.Machine)).Command);
    }
}
