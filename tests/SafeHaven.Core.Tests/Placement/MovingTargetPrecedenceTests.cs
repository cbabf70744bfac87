using SafeHaven.Core.Placement;
using SafeHaven.Schemas;
using static SafeHaven.Core.Tests.Placement.MovingTargetPlannerTests;

namespace SafeHaven.Core.Tests.Placement;

/// <summary>Detections win over moving-target moves: adoption, waiting for an in-flight move, pre-emption; and host-level moves.</summary>
public sealed class MovingTargetPrecedenceTests
{
    private static readonly EntityRef P42 = new() { datacenter = "dc1", host = "h1", pid = 42 };

    [Fact]
    public void A_detection_of_a_moved_entity_adopts_its_cpu_and_the_schedule_stops_moving_it()
    {
        var h = new PlannerHarness().With("h1-agent", "h1", "2-3", Levels.Core);
        Assert.Equal("2", Move(h, CoreMove(P42)));
        var d = h.Plan(PlannerHarness.Detection(P42, Scopes.Core));
        Assert.Null(d.Command);
        var (slot, member) = Assert.Single(h.Book.MembershipsOf(EntityIds.Of(P42)));
        Assert.Equal(("h1-agent#cpu:2", "h1:1:r1", "r1", MemberStatus.Held), (slot.slot, member.detectionId, member.rule, member.status));
        Assert.False(Planner.IsMovingTarget(member));
        var next = h.Planner.PlanMove(CoreMove(P42));
        Assert.Null(next.Command);
        Assert.Contains("held or awaited by a detection: detections win", next.Skipped!.error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ResultStatus.Succeeded, "h1-agent#cpu:3")]
    [InlineData(ResultStatus.Failed, "h1-agent#cpu:2")]
    public void A_detection_during_a_move_waits_for_its_result_then_adopts_where_the_entity_is(string status, string expected)
    {
        var h = new PlannerHarness().With("h1-agent", "h1", "2-4", Levels.Core);
        Assert.Equal("2", Move(h, CoreMove(P42)));
        var move = h.Planner.PlanMove(CoreMove(P42)).Command!;
        var d = h.Plan(PlannerHarness.Detection(P42, Scopes.Core));
        Assert.Null(d.Command);
        Assert.NotNull(h.Book.WaitingOf(EntityIds.Of(P42)));
        // The inventory changing in between does not place it behind the move's back.
        Assert.Empty(h.Planner.Retry());

        var after = h.Planner.OnResult(PlannerHarness.Result(move, status));

        Assert.Null(after.Command);
        Assert.Null(h.Book.WaitingOf(EntityIds.Of(P42)));
        var (slot, member) = Assert.Single(h.Book.MembershipsOf(EntityIds.Of(P42)));
        Assert.Equal((expected, "h1:1:r1", MemberStatus.Held), (slot.slot, member.detectionId, member.status));
    }

    [Fact]
    public void A_core_detection_with_no_free_cpu_takes_one_from_a_moving_target_entity_which_is_released_first()
    {
        var h = new PlannerHarness().With("h1-agent", "h1", "2-3", Levels.Core);
        var p43 = new EntityRef { datacenter = "dc1", host = "h1", pid = 43 };
        Assert.Equal("2", Move(h, CoreMove(P42)));
        Assert.Equal("3", Move(h, CoreMove(p43)));

        var d = h.Plan(PlannerHarness.Detection(new EntityRef { datacenter = "dc1", host = "h1", pid = 101 }, Scopes.Core));

        Assert.Equal("2", d.Command!.target);
        var release = d.Preempt!;
        Assert.Equal((Actions.Release, "h1-agent", 42, "2"), (release.action, release.source, release.entity.pid, release.target));
        Assert.EndsWith("-release", release.commandId, StringComparison.Ordinal);
        Assert.True(Identifiers.IsId(release.commandId), release.commandId);
        // Ledger order: the moving-target member leaves before the suspect is booked.
        Assert.Equal([LedgerEvents.Free, LedgerEvents.Reserve], d.Records.Select(r => r.@event));
        Assert.Empty(h.Book.MembershipsOf(EntityIds.Of(P42)));
        Assert.Equal("h1:1:r1", Assert.Single(h.Book.Slot("h1-agent#cpu:2")!.members).detectionId);
        // 42 has no CPU now; with none free, its schedule waits.
        Assert.Contains("no free CPU", h.Planner.PlanMove(CoreMove(P42)).Skipped!.error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_slot_held_for_a_detection_is_never_taken_by_a_move()
    {
        var h = new PlannerHarness().With("h1-agent", "h1", "2-3", Levels.Core);
        h.Isolate(new EntityRef { datacenter = "dc1", host = "h1", pid = 101 }, Scopes.Core);
        Assert.Equal("3", Move(h, CoreMove(P42)));
        var d = h.Planner.PlanMove(CoreMove(P42));
        Assert.Null(d.Command);
        Assert.Contains("no free CPU besides its own", d.Skipped!.error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_vm_moves_round_the_hypervisors_with_a_receive_and_follows_its_new_host()
    {
        var h = new PlannerHarness().With("hv1", "h1", "", Levels.Vm).With("hv2", "h2", "", Levels.Vm).With("hv3", "h3", "", Levels.Vm);
        var vm = new EntityRef { datacenter = "dc1", host = "h1", vm = "v1" };
        var move = new MovingTargetMove("vms", Levels.Vm, vm, []);
        var hosts = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var d = h.Planner.PlanMove(move);
            Assert.True(d.Command is not null, string.Join(" | ", d.Reasons));
            Assert.Equal((Actions.Receive, d.Command.commandId + Actions.ReceiveIdSuffix, d.Command.target), (d.Receive!.action, d.Receive.commandId, d.Receive.target));
            h.Planner.OnResult(PlannerHarness.Result(d.Command, ResultStatus.Succeeded));
            var (slot, member) = Assert.Single(h.Book.Held.SelectMany(s => s.members.Select(m => (s, m))));
            Assert.Equal(member.entity.host, h.Book.Find(slot.actuator)!.Host);
            Assert.Equal(EntityIds.Of(member.entity), member.entityId);
            hosts.Add($"{d.Command.source}→{d.Command.target}");
        }
        Assert.Equal(["hv1→hv2", "hv2→hv3", "hv3→hv1", "hv1→hv2"], hosts);
        // A detection of the VM where it now runs adopts its host slot.
        Assert.Null(h.Plan(PlannerHarness.Detection(new EntityRef { datacenter = "dc1", host = "h2", vm = "v1" }, Scopes.Machine)).Command);
        Assert.Contains("detections win", h.Planner.PlanMove(move).Skipped!.error, StringComparison.Ordinal);
    }
}
