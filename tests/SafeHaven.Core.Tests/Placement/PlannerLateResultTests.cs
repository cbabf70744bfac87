using SafeHaven.Core.Placement;
using SafeHaven.Schemas;
using static SafeHaven.Core.Tests.TestData;

namespace SafeHaven.Core.Tests.Placement;

/// <summary>
/// A result that arrives after every send of its command expired (the agent was down past two deadlines): the ledger
/// kept the member as held while the real state was unknown, and the late answer now settles it.
/// </summary>
public sealed class PlannerLateResultTests
{
    private readonly PlannerHarness _h = new PlannerHarness().With("a1", "h1", "2", Levels.Core);

    [Fact]
    public void A_late_rejection_frees_the_kept_slot_and_the_same_level_is_tried_again_under_a_new_id()
    {
        var isolate = KeptAfterTwoExpiries(_h, "h1:1:r1");

        var late = _h.Planner.OnResult(PlannerHarness.Result(isolate, ResultStatus.Rejected));

        // The slot is given straight back to the suspect under a retry id: it is isolated, not left out for good.
        var retry = Assert.IsType<IsolationCommand>(late.Command);
        Assert.Equal(isolate.commandId + "-retry", retry.commandId);
        Assert.Equal(("2", 101), (retry.target, retry.entity.pid));
        Assert.Equal(MemberStatus.Pending, _h.Book.MembershipsOf("dc1/h1/pid/101").Single().Member.status);
        Assert.Contains(late.Reasons, r => r.Contains("actuator reported rejected", StringComparison.Ordinal));
    }

    [Fact]
    public void A_late_failure_lets_another_group_have_the_cpu_the_entity_never_took()
    {
        var isolate = KeptAfterTwoExpiries(_h, "h1:1:r1", retried: true);
        Assert.Null(_h.Plan(PlannerHarness.Detection(Process(201), Scopes.Core, "h1:2:r1")).Command);

        var late = _h.Planner.OnResult(PlannerHarness.Result(isolate, ResultStatus.Failed));

        Assert.Null(late.Command); // a failed move climbs, and no level above core has an agent here
        Assert.Null(_h.Book.Holder("a1", 2));
        var waiting = Assert.Single(_h.Planner.Retry());
        Assert.Equal((201, "2"), (waiting.Command?.entity.pid, waiting.Command?.target));
    }

    [Fact]
    public void A_late_success_confirms_the_member_and_a_second_copy_of_any_answer_changes_nothing()
    {
        var isolate = KeptAfterTwoExpiries(_h, "h1:1:r1");

        var late = _h.Planner.OnResult(PlannerHarness.Result(isolate, ResultStatus.Succeeded));

        var member = Assert.Single(Assert.Single(late.Records).members);
        Assert.Equal((MemberStatus.Held, false), (member.status, member.unconfirmed));
        Assert.Equal(LedgerEvents.Hold, late.Records[0].@event);
        var again = _h.Planner.OnResult(PlannerHarness.Result(isolate, ResultStatus.Failed));
        Assert.Empty(again.Records);
        Assert.Equal("dc1/h1/pid/101", _h.Book.Holder("a1", 2));
    }

    [Fact]
    public void A_result_for_a_member_held_on_its_answer_is_not_taken_again()
    {
        var isolate = _h.Isolate(Process(101), Scopes.Core, "h1:1:r1");
        _h.Planner.OnResult(PlannerHarness.Result(isolate, ResultStatus.Succeeded));

        var conflicting = _h.Planner.OnResult(PlannerHarness.Result(isolate, ResultStatus.Rejected));

        Assert.Empty(conflicting.Records);
        Assert.Null(conflicting.Command);
        Assert.Equal("dc1/h1/pid/101", _h.Book.Holder("a1", 2));
    }

    [Fact]
    public void A_late_successful_release_frees_the_slot_and_a_late_failed_one_keeps_it_confirmed()
    {
        foreach (var (status, freed) in new[] { (ResultStatus.Succeeded, true), (ResultStatus.Failed, false) })
        {
            var h = new PlannerHarness().With("a1", "h1", "2", Levels.Core);
            var isolate = h.Isolate(Process(101), Scopes.Core, "h1:1:r1");
            h.Planner.OnResult(PlannerHarness.Result(isolate, ResultStatus.Succeeded));
            var quiet = PlannerHarness.Detection(Process(101), Scopes.Core, "h1:9:r1:quiet");
            quiet.kind = DetectionKinds.Quiet;
            var release = Assert.IsType<IsolationCommand>(h.Plan(quiet).Command);
            ExpireTwice(h);
            Assert.True(h.Book.MembershipsOf("dc1/h1/pid/101").Single().Member.unconfirmed);

            var late = h.Planner.OnResult(PlannerHarness.Result(release, status));

            Assert.Equal(freed, h.Book.Holder("a1", 2) is null);
            Assert.Equal(freed ? LedgerEvents.Free : LedgerEvents.Hold, Assert.Single(late.Records).@event);
        }
    }

    [Fact]
    public void A_restarted_planner_reads_the_kept_member_from_the_ledger_and_still_settles_it()
    {
        var isolate = KeptAfterTwoExpiries(_h, "h1:1:r1", retried: true);
        var restarted = new PlannerHarness().With("a1", "h1", "2", Levels.Core);
        foreach (var record in _h.Book.Held)
        {
            restarted.Book.Apply(record);
        }
        restarted.Book.Tenants.Set("dc1/h1/pid/101", "dc1", "h1", null);

        var late = restarted.Planner.OnResult(PlannerHarness.Result(isolate, ResultStatus.Failed));

        Assert.Equal(LedgerEvents.Free, Assert.Single(late.Records).@event);
        Assert.Null(restarted.Book.Holder("a1", 2));
    }

    // Isolates 101 (its retry command when retried, so a rejection or failure climbs) and lets both sends expire.
    private static IsolationCommand KeptAfterTwoExpiries(PlannerHarness h, string detectionId, bool retried = false)
    {
        var isolate = h.Isolate(Process(101), Scopes.Core, detectionId);
        if (retried)
        {
            var retry = h.Planner.OnResult(PlannerHarness.Result(isolate, ResultStatus.Rejected));
            isolate = Assert.IsType<IsolationCommand>(retry.Command);
        }
        ExpireTwice(h);
        var kept = h.Book.MembershipsOf("dc1/h1/pid/101").Single().Member;
        Assert.Equal((MemberStatus.Held, true, isolate.commandId), (kept.status, kept.unconfirmed, kept.commandId));
        return isolate;
    }

    private static void ExpireTwice(PlannerHarness h)
    {
        h.Time.Advance(TimeSpan.FromSeconds(11));
        Assert.NotNull(Assert.Single(h.Planner.Expire()).Command);
        h.Time.Advance(TimeSpan.FromSeconds(11));
        Assert.Null(Assert.Single(h.Planner.Expire()).Command);
    }
}
