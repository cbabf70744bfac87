using SafeHaven.Core.Placement;
using SafeHaven.Schemas;
using static SafeHaven.Core.Tests.TestData;

namespace SafeHaven.Core.Tests.Placement;

/// <summary>The ledger's life cycle: groups sharing a slot, release on exit and after a quiet period, expiry.</summary>
public sealed class PlannerLedgerTests
{
    private readonly PlannerHarness _h = new PlannerHarness().With("a1", "h1", "2", Levels.Core);

    [Fact]
    public void The_second_endpoint_of_a_channel_joins_its_groups_slot_and_another_group_is_refused()
    {
        _h.Book.Tenants.SetGroup("dc1/h1/pid/101", "pgid:100");
        _h.Book.Tenants.SetGroup("dc1/h1/pid/102", "pgid:100");
        _h.Book.Tenants.SetGroup("dc1/h1/pid/201", "pgid:200");

        var sender = _h.Isolate(Process(101), Scopes.Core, "h1:1:r1");
        var receiver = _h.Plan(PlannerHarness.Detection(Process(102), Scopes.Core, "h1:2:r1"));
        var stranger = _h.Plan(PlannerHarness.Detection(Process(201), Scopes.Core, "h1:3:r1"));

        Assert.Equal(("2", "pgid:100@dc1/h1"), (sender.target, sender.group));
        Assert.Equal(("2", "pgid:100@dc1/h1"), (receiver.Command?.target, receiver.Command?.group));
        Assert.Contains("joins CPU 2 of a1, held by its group pgid:100@dc1/h1", receiver.Reasons[0], StringComparison.Ordinal);
        Assert.Equal(LedgerEvents.Join, Assert.Single(receiver.Records).@event);
        Assert.Null(stranger.Command);
        Assert.Equal("level core: no free CPU in isolation pool 2 of a1", stranger.Reasons[0]);
    }

    [Fact]
    public void An_exited_entity_frees_its_slot_without_a_command_and_a_waiting_suspect_gets_it()
    {
        var first = _h.Isolate(Process(101), Scopes.Core, "h1:1:r1");
        _h.Planner.OnResult(PlannerHarness.Result(first, ResultStatus.Succeeded));
        Assert.Null(_h.Plan(PlannerHarness.Detection(Process(102), Scopes.Core, "h1:2:r1")).Command);

        var gone = _h.Planner.OnGone("dc1/h1/pid/101");

        Assert.Null(gone.Command);
        Assert.Equal(LedgerEvents.Free, Assert.Single(gone.Records).@event);
        var retried = Assert.Single(_h.Planner.Retry());
        Assert.Equal((102, "2"), (retried.Command?.entity.pid, retried.Command?.target));
    }

    [Fact]
    public void A_quiet_signal_sends_a_release_and_its_result_frees_the_slot_so_a_new_storm_is_isolated_again()
    {
        var isolate = _h.Isolate(Process(101), Scopes.Core, "h1:1:r1");
        _h.Planner.OnResult(PlannerHarness.Result(isolate, ResultStatus.Succeeded));
        var quiet = PlannerHarness.Detection(Process(101), Scopes.Core, "h1:9:r1:quiet");
        quiet.kind = DetectionKinds.Quiet;

        var release = _h.Plan(quiet);

        var cmd = Assert.IsType<IsolationCommand>(release.Command);
        Assert.Equal((Actions.Release, "a1", "2"), (cmd.action, cmd.source, cmd.target));
        Assert.Equal(MemberStatus.Releasing, Assert.Single(Assert.Single(release.Records).members).status);
        Assert.Equal(LedgerEvents.Free, Assert.Single(_h.Planner.OnResult(PlannerHarness.Result(cmd, ResultStatus.Succeeded)).Records).@event);
        Assert.Null(_h.Book.Holder("a1", 2));
        _h.Time.Advance(TimeSpan.FromSeconds(11)); // past the planner's wall-clock cooldown
        Assert.Equal("2", _h.Isolate(Process(101), Scopes.Core, "h1:20:r1").target);
    }

    [Fact]
    public void A_command_with_no_result_is_sent_again_once_then_kept_held_never_freed()
    {
        var isolate = _h.Isolate(Process(101), Scopes.Core, "h1:1:r1");
        _h.Time.Advance(TimeSpan.FromSeconds(5) + TimeSpan.FromSeconds(5));
        Assert.Empty(_h.Planner.Expire());
        _h.Time.Advance(TimeSpan.FromMilliseconds(1));

        var again = Assert.Single(_h.Planner.Expire());

        Assert.Equal(isolate.commandId, again.Command?.commandId);
        Assert.True(again.Command!.deadlineNs > isolate.deadlineNs);
        _h.Time.Advance(TimeSpan.FromSeconds(11));
        var kept = Assert.Single(_h.Planner.Expire());
        Assert.Null(kept.Command);
        Assert.Equal(MemberStatus.Held, Assert.Single(Assert.Single(kept.Records).members).status);
        Assert.Equal("dc1/h1/pid/101", _h.Book.Holder("a1", 2));
        Assert.Empty(_h.Planner.Expire());
    }

    [Fact]
    public void A_process_detected_before_its_inventory_record_waits_for_it_then_joins_its_groups_slot()
    {
        // One CPU. 101 is detected before the planner has read its record: placed then, it would take the CPU as
        // a group of one, and its sibling 102 (same process group) would be refused.
        _h.Book.Tenants.SetGroup("dc1/h1/pid/101", "pgid:100");
        _h.Book.Tenants.SetGroup("dc1/h1/pid/102", "pgid:100");
        var d101 = PlannerHarness.Detection(Process(101), Scopes.Core, "h1:1:r1");
        var waiting = _h.Planner.Plan(d101);
        Assert.Null(waiting.Command);
        Assert.Contains(waiting.Reasons, r => r.Contains("inventory record of dc1/h1/pid/101 not seen yet", StringComparison.Ordinal));
        Assert.Equal((LedgerEvents.Wait, "wait:dc1/h1/pid/101"), (Assert.Single(waiting.Records).@event, waiting.Records[0].slot));
        Assert.Empty(_h.Planner.Retry());
        Assert.Empty(_h.Planner.RetryEntity("dc1/h1/pid/102"));

        _h.Book.Tenants.Set("dc1/h1/pid/101", "dc1", "h1", null);
        var placed = Assert.Single(_h.Planner.RetryEntity("dc1/h1/pid/101"));
        Assert.Equal(("h1:1:r1", "2"), (placed.Command?.detectionId, placed.Command?.target));
        Assert.Equal("pgid:100@dc1/h1", placed.Command?.group);
        Assert.Equal(0, _h.Planner.Unplaced);

        var sibling = _h.Plan(PlannerHarness.Detection(Process(102), Scopes.Core, "h1:2:r1"));
        Assert.Equal("2", sibling.Command?.target);
    }

    [Fact]
    public void A_detection_that_found_no_actuator_waits_in_the_ledger_and_a_restarted_planner_places_it()
    {
        var early = new PlannerHarness();
        var waiting = early.Plan(PlannerHarness.Detection(Process(101), Scopes.Core, "h1:1:r1"));
        Assert.Null(waiting.Command);
        var record = Assert.Single(waiting.Records);
        Assert.Equal((LedgerEvents.Wait, "wait:dc1/h1/pid/101", MemberStatus.Waiting), (record.@event, record.slot, record.members[0].status));

        var restarted = new PlannerHarness().With("a1", "h1", "2", Levels.Core);
        restarted.Book.Apply(record);
        restarted.Book.Tenants.Set("dc1/h1/pid/101", "dc1", "h1", null); // the restarted planner re-reads the inventory
        Assert.Equal(1, restarted.Planner.Unplaced);
        var placed = Assert.Single(restarted.Planner.Retry());

        Assert.Equal(("h1:1:r1", "2"), (placed.Command?.detectionId, placed.Command?.target));
        Assert.Equal([LedgerEvents.Reserve, LedgerEvents.Leave], placed.Records.Select(r => r.@event));
        Assert.Equal(0, restarted.Planner.Unplaced);
    }
}
