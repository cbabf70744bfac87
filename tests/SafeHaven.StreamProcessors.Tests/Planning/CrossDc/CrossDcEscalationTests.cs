using Microsoft.Extensions.Time.Testing;
using SafeHaven.Core;
using SafeHaven.Core.Placement;
using SafeHaven.Schemas;
using SafeHaven.StreamProcessors.Planning.CrossDc;

namespace SafeHaven.StreamProcessors.Tests.Planning.CrossDc;

/// <summary>Which parked detections leave the datacenter when retried (<see cref="CrossDcEscalation.PrepareWaiting"/>).</summary>
public sealed class CrossDcEscalationTests
{
    private static readonly CrossDcSettings Settings = new(TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(15));

    private static ActuatorInfo Agent(string id, string host, params string[] levels) =>
        new(id, "dc1", host, new HashSet<string>(levels, StringComparer.Ordinal), CpuList.Empty);

    private static readonly FakeTimeProvider Time = new(new DateTimeOffset(2026, 12, 5, 8, 0, 0, TimeSpan.Zero));

    private static SafeHaven.Schemas.Detection Hot(EntityRef entity, string scope, string id) => new()
    {
        detectionId = id, entity = entity, rule = "r1", counter = "context-switches", rate = 5000, threshold = 1000, scope = scope,
        detectedAtNs = Time.NowNs(), firstSampleAtNs = Time.NowNs() - 1_000_000_000,
    };

    [Fact]
    public void A_vm_that_waited_before_its_hypervisors_inventory_leaves_when_retried_with_still_no_room()
    {
        var book = new PlacementBook("p1");
        var planner = new Planner(book, Time, new PlannerSettings(TimeSpan.FromSeconds(15)));
        var vm = new EntityRef { datacenter = "dc1", host = "h1", vm = "v1" };
        var detection = Hot(vm, Scopes.Machine, "h1:1:r1");

        // Detected before any agent announced itself: it waits, and with no source agent it cannot leave yet.
        var first = planner.Plan(detection);
        Assert.Null(CrossDcEscalation.Prepare(planner, book, Settings, detection, first));
        // The hypervisor's agent arrives; the retry still finds no other host (so it returns nothing to act on) ...
        book.Upsert(Agent("h1-agent", "h1", Levels.Vm));
        Assert.Empty(planner.Retry());
        // ... and the waiting detection is now one to move out, from its own agent, at the VM level.
        var move = CrossDcEscalation.PrepareWaiting(planner, book, Settings, book.WaitingOf("dc1/h1/vm/v1")!.members[0]);
        Assert.NotNull(move);
        Assert.Equal(("h1:1:r1", Levels.Vm, "h1-agent", "dc1/h1/vm/v1"), (move.DetectionId, move.Level, move.SourceActuator, move.EntityId));
    }

    [Fact]
    public void A_waiting_process_does_not_leave_and_a_container_leaves_at_the_container_level()
    {
        var book = new PlacementBook("p1");
        book.Upsert(Agent("h1-agent", "h1", Levels.Core, Levels.Container));
        var planner = new Planner(book, Time, new PlannerSettings(TimeSpan.FromSeconds(15)));
        var process = new EntityRef { datacenter = "dc1", host = "h1", pid = 42 };
        book.Tenants.Set(EntityIds.Of(process), "dc1", "h1", null);
        var container = new EntityRef { datacenter = "dc1", host = "h1", container = "c1" };
        planner.Plan(Hot(process, Scopes.Core, "h1:1:r1"));
        planner.Plan(Hot(container, Scopes.Machine, "h1:2:r1"));

        Assert.Null(CrossDcEscalation.PrepareWaiting(planner, book, Settings, book.WaitingOf(EntityIds.Of(process))!.members[0]));
        Assert.Equal(Levels.Container, CrossDcEscalation.PrepareWaiting(planner, book, Settings, book.WaitingOf(EntityIds.Of(container))!.members[0])?.Level);
    }
}
