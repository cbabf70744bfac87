using SafeHaven.Core.Placement;
using SafeHaven.Schemas;
using static SafeHaven.Core.Tests.TestData;

namespace SafeHaven.Core.Tests.Placement;

/// <summary>What the planner refuses whatever the bus says, and its move budgets and cooldown.</summary>
public sealed class PlannerPolicyTests
{
    private readonly PlannerHarness _h = new PlannerHarness().With("a1", "h1", "2-3", Levels.Core);

    [Theory]
    [InlineData(-301, "stale detection h1:1:r1: detected 301.0 s ago, beyond the 300 s TTL")]
    [InlineData(301, "detection h1:1:r1 is dated 301.0 s in the future, beyond the 300 s TTL")]
    public void A_detection_outside_the_ttl_is_dead_lettered_and_changes_nothing(int offsetSeconds, string reason)
    {
        var d = PlannerHarness.Detection(Process(101), Scopes.Core);
        d.detectedAtNs = PlannerHarness.StartNs + offsetSeconds * 1_000_000_000L;

        var decision = _h.Plan(d);

        Assert.Equal(reason, decision.DeadLetter);
        Assert.Null(decision.Command);
        Assert.Empty(decision.Records);
        Assert.Equal(0, _h.Book.HeldCount);
    }

    [Fact]
    public void A_repeat_while_hot_isolates_an_entity_whose_first_detection_went_stale_and_is_ignored_once_it_is_isolated()
    {
        // The planner was down beyond the TTL: the first detection is dead-lettered; the detector's repeat (a new id,
        // dated now) is planned; a further repeat of the isolated entity changes nothing and sends nothing.
        var first = PlannerHarness.Detection(Process(101), Scopes.Core, "h1:1:r1");
        first.detectedAtNs = PlannerHarness.StartNs - 400_000_000_000;
        Assert.NotNull(_h.Plan(first).DeadLetter);

        var repeat = PlannerHarness.Detection(Process(101), Scopes.Core, "h1:61:r1");
        Assert.NotNull(_h.Plan(repeat).Command);
        var again = _h.Plan(PlannerHarness.Detection(Process(101), Scopes.Core, "h1:121:r1"));

        Assert.Null(again.Command);
        Assert.Null(again.Skipped);
        Assert.Empty(again.Records);
        Assert.Equal(1, _h.Book.HeldCount);
    }

    [Fact]
    public void Pid_1_and_a_detection_about_another_process_of_a_reused_pid_are_refused()
    {
        Assert.Equal("pid 1 (init) is never moved", _h.Plan(PlannerHarness.Detection(Process(1), Scopes.Core)).DeadLetter);

        _h.Book.Tenants.Set("dc1/h1/pid/101", "dc1", "h1", null, startTime: 500);
        var other = Process(101);
        other.startTime = 499;
        var refused = _h.Plan(PlannerHarness.Detection(other, Scopes.Core, "h1:2:r1"));
        Assert.Equal("dc1/h1/pid/101 in the inventory started at 500, not 499: the detection is about another process", refused.DeadLetter);

        other.startTime = 500;
        Assert.NotNull(_h.Plan(PlannerHarness.Detection(other, Scopes.Core, "h1:3:r1")).Command);
    }

    [Fact]
    public void A_flood_of_genuine_detections_on_one_host_yields_the_host_budget_of_moves_and_skipped_results_naming_it()
    {
        var h = new PlannerHarness(policy: new PlannerPolicy(TimeSpan.FromSeconds(30), TimeSpan.Zero, new MoveBudgets(PerHostPerMinute: 3)))
            .With("a1", "h1", "0-63", Levels.Core);
        var decisions = Enumerable.Range(0, 20).Select(i => h.Plan(PlannerHarness.Detection(Process(200 + i), Scopes.Core, $"h1:{i}:r1"))).ToList();

        Assert.Equal(3, decisions.Count(d => d.Command is not null));
        var skipped = decisions.Where(d => d.Skipped is not null).Select(d => d.Skipped!).ToList();
        Assert.Equal(17, skipped.Count);
        Assert.All(skipped, r => Assert.Equal((ResultStatus.Skipped, "budget of 3 moves per host per minute spent on dc1/h1"), (r.status, r.error)));
        Assert.Equal(3, h.Book.HeldCount);

        // A minute later the budget is back; a skipped detection is settled (its redelivery does nothing).
        h.Time.Advance(TimeSpan.FromSeconds(61));
        Assert.Null(h.Plan(PlannerHarness.Detection(Process(203), Scopes.Core, "h1:3:r1")).Command);
        var late = PlannerHarness.Detection(Process(250), Scopes.Core, "h1:50:r1");
        late.detectedAtNs = PlannerHarness.StartNs + 61_000_000_000;
        Assert.NotNull(h.Plan(late).Command);
    }

    [Fact]
    public void Per_entity_budget_and_wall_clock_cooldown_limit_how_often_one_victim_is_moved()
    {
        var h = new PlannerHarness(policy: new PlannerPolicy(TimeSpan.FromHours(2), TimeSpan.FromSeconds(10), new MoveBudgets(PerEntityPerHour: 2)))
            .With("a1", "h1", "2", Levels.Core);
        var moves = 0;
        var reasons = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            var d = h.Plan(PlannerHarness.Detection(Process(101), Scopes.Core, $"h1:{i}:r1"));
            if (d.Command is { } c)
            {
                moves++;
                h.Planner.OnResult(PlannerHarness.Result(c, ResultStatus.Succeeded));
                h.Planner.OnGone("dc1/h1/pid/101"); // it exited (or was released): its slot is free again
            }
            reasons.AddRange(d.Skipped?.error is { } e ? [e] : []);
            h.Time.Advance(TimeSpan.FromSeconds(4));
        }

        Assert.Equal(2, moves);
        Assert.Contains(reasons, r => r.StartsWith("cooldown: dc1/h1/pid/101 was moved 4000 ms ago", StringComparison.Ordinal));
        Assert.Contains("budget of 2 moves per entity per hour spent on dc1/h1/pid/101", reasons);
    }
}
