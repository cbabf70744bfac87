using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Tests.Placement;

/// <summary>
/// Moving-target moves planned through the ledger (Planner.MovingTarget*). The assertions of the old core-only
/// scheduler's tests (MovingTargetRotationTests, MovingTargetRoundsTests) are ported here: rotation order, wrap-around,
/// a spare CPU needed, nobody sent onto a held CPU, what the commands carry, and why nothing moved.
/// </summary>
public sealed class MovingTargetPlannerTests
{
    private static readonly EntityRef P42 = new() { datacenter = "dc1", host = "h1", pid = 42 };
    private static readonly EntityRef P43 = new() { datacenter = "dc1", host = "h1", pid = 43 };

    internal static MovingTargetMove CoreMove(EntityRef e, params string[] allowed) => new("core", Levels.Core, e, allowed);

    private static PlannerHarness Harness(string pool, MoveBudgets? budgets = null) =>
        new PlannerHarness(policy: budgets is null ? null : PlannerPolicy.Default with { Budgets = budgets }).With("h1-agent", "h1", pool, Levels.Core);

    // Plans a move and answers it as the agent would; returns the target.
    internal static string Move(PlannerHarness h, MovingTargetMove move, bool advance = true)
    {
        var d = h.Planner.PlanMove(move);
        Assert.True(d.Command is not null, string.Join(" | ", d.Reasons));
        h.Planner.OnResult(PlannerHarness.Result(d.Command, ResultStatus.Succeeded));
        if (advance)
        {
            h.Time.Advance(TimeSpan.FromSeconds(30));
        }
        return d.Command.target;
    }

    [Theory]
    [InlineData("2-3", "2,3,2,3")]
    [InlineData("1,4,7", "1,4,7,1")]
    [InlineData("0-2", "0,1,2,0")]
    public void Core_moves_go_to_the_next_cpu_of_the_pool_wrapping_around(string pool, string expected)
    {
        var h = Harness(pool);
        Assert.Equal(expected, string.Join(",", Enumerable.Range(0, 4).Select(_ => Move(h, CoreMove(P42)))));
        // It holds exactly one CPU at a time: each move left the previous one.
        Assert.Single(h.Book.MembershipsOf(EntityIds.Of(P42)));
    }

    [Theory]
    [InlineData(false, "3")] // a re-sent move the agent already ran: "skipped, duplicate": it moved
    [InlineData(true, "2")] // a dry run's "skipped": nothing moved
    public void A_skipped_answer_to_a_move_is_a_move_unless_it_was_a_dry_run(bool dryRun, string cpuAfter)
    {
        var h = Harness("2-3");
        Assert.Equal("2", Move(h, CoreMove(P42)));
        var d = h.Planner.PlanMove(CoreMove(P42));
        Assert.Equal("3", d.Command?.target);
        var skipped = PlannerHarness.Result(d.Command!, ResultStatus.Skipped);
        skipped.dryRun = dryRun;

        h.Planner.OnResult(skipped);

        var (slot, member) = Assert.Single(h.Book.MembershipsOf(EntityIds.Of(P42)));
        Assert.Equal((MemberStatus.Held, cpuAfter), (member.status, slot.cpus));
    }

    [Fact]
    public void Commands_carry_what_actuators_need_and_no_detection()
    {
        var h = Harness("2-3");
        var d = h.Planner.PlanMove(CoreMove(P42));
        var cmd = d.Command!;
        Assert.Null(cmd.detectionId);
        Assert.Equal(("h1-agent", Levels.Core, Actions.Isolate, "2"), (cmd.source, cmd.level, cmd.action, cmd.target));
        Assert.Equal(("dc1", "h1", 42), (cmd.entity.datacenter, cmd.entity.host, cmd.entity.pid));
        Assert.Equal(5_000_000_000, cmd.deadlineNs - cmd.issuedAtNs);
        Assert.True(Identifiers.IsId(cmd.commandId), cmd.commandId);
        Assert.True(MovingTargetAccount.IsMove(cmd.commandId));
        Assert.StartsWith("moving-target schedule core: core move to CPU 2", Assert.Single(cmd.reasons), StringComparison.Ordinal);
        Assert.Empty(cmd.signature);
        Assert.Null(d.Receive);
        // Booked in the ledger before it leaves, as a pending member of rule mtd:core.
        var record = Assert.Single(d.Records);
        var member = Assert.Single(record.members);
        Assert.Equal(("h1-agent#cpu:2", "mtd:core", MemberStatus.Pending, cmd.commandId), (record.slot, member.rule, member.status, member.commandId));
        Assert.True(Planner.IsMovingTarget(member));
    }

    [Fact]
    public void Without_a_known_actuator_nothing_moves_and_a_skipped_result_says_why()
    {
        var h = new PlannerHarness();
        var d = h.Planner.PlanMove(CoreMove(P42));
        Assert.Null(d.Command);
        Assert.Empty(d.Records);
        Assert.Equal((ResultStatus.Skipped, "moving-target: dc1/h1/pid/42: no core-level actuator on host h1"), (d.Skipped!.status, d.Skipped.error));
        Assert.True(MovingTargetAccount.IsMove(d.Skipped.commandId));
    }

    [Fact]
    public void A_pool_without_a_spare_cpu_is_reported_and_the_entity_stays()
    {
        var h = Harness("5");
        Assert.Equal("5", Move(h, CoreMove(P42)));
        var d = h.Planner.PlanMove(CoreMove(P42));
        Assert.Null(d.Command);
        Assert.Contains("no free CPU besides its own in pool 5 of h1-agent", d.Skipped!.error, StringComparison.Ordinal);
        Assert.Equal("h1-agent#cpu:5", Assert.Single(h.Book.MembershipsOf(EntityIds.Of(P42))).Slot.slot);
    }

    [Fact]
    public void Two_entities_on_one_host_never_land_on_a_cpu_the_other_holds()
    {
        var h = Harness("2-4");
        var seen = new List<string>();
        for (var round = 0; round < 4; round++)
        {
            foreach (var e in new[] { P42, P43 })
            {
                var d = h.Planner.PlanMove(CoreMove(e));
                var slot = PlacementBook.CoreSlot("h1-agent", int.Parse(d.Command!.target, System.Globalization.CultureInfo.InvariantCulture));
                // The book holds the new slot only for this entity: it was free when the move was planned.
                Assert.Equal([EntityIds.Of(e)], h.Book.Slot(slot)!.members.Select(m => m.entityId));
                h.Planner.OnResult(PlannerHarness.Result(d.Command, ResultStatus.Succeeded));
                seen.Add($"{e.pid}→{d.Command.target}");
            }
            h.Time.Advance(TimeSpan.FromSeconds(30));
        }
        Assert.Equal(["42→2", "43→3", "42→4", "43→2", "42→3", "43→4", "42→2", "43→3"], seen);
    }

    [Fact]
    public void Allowed_targets_restrict_the_cpus()
    {
        var h = Harness("2-4");
        Assert.Equal("3", Move(h, CoreMove(P42, "3", "4")));
        Assert.Equal("4", Move(h, CoreMove(P42, "3", "4")));
        Assert.Equal("3", Move(h, CoreMove(P42, "3", "4")));
    }

    [Fact]
    public void A_move_waits_for_the_previous_ones_result_and_a_failure_leaves_the_entity_where_it_was()
    {
        var h = Harness("2-4");
        Assert.Equal("2", Move(h, CoreMove(P42)));
        var d = h.Planner.PlanMove(CoreMove(P42));
        Assert.Equal("3", d.Command!.target);
        var again = h.Planner.PlanMove(CoreMove(P42));
        Assert.Null(again.Command);
        Assert.Contains("previous move " + d.Command.commandId + " has no result yet", again.Skipped!.error, StringComparison.Ordinal);
        h.Planner.OnResult(PlannerHarness.Result(d.Command, ResultStatus.Failed, "cpu 3 offline"));
        Assert.Equal("h1-agent#cpu:2", Assert.Single(h.Book.MembershipsOf(EntityIds.Of(P42))).Slot.slot);
        Assert.Null(h.Book.Slot("h1-agent#cpu:3"));
    }

    [Fact]
    public void Moves_spend_at_most_half_of_the_host_budget_and_detections_keep_the_rest()
    {
        var h = Harness("0-63", new MoveBudgets(PerHostPerMinute: 4));
        Assert.Equal("0", Move(h, CoreMove(P42), advance: false));
        Assert.Equal("1", Move(h, CoreMove(P42), advance: false));
        var third = h.Planner.PlanMove(CoreMove(P42));
        Assert.Null(third.Command);
        Assert.Contains("moves may use half of it", third.Skipped!.error, StringComparison.Ordinal);
        // The other half is the detections': two suspects get their commands within the same minute.
        Assert.NotNull(h.Isolate(new EntityRef { datacenter = "dc1", host = "h1", pid = 101 }, Scopes.Core, "h1:1:r1"));
        Assert.NotNull(h.Isolate(new EntityRef { datacenter = "dc1", host = "h1", pid = 102 }, Scopes.Core, "h1:2:r1"));
    }
}
