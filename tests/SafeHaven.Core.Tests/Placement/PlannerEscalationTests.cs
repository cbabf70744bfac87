using SafeHaven.Core.Placement;
using static SafeHaven.Core.Tests.TestData;

namespace SafeHaven.Core.Tests.Placement;

public sealed class PlannerEscalationTests
{
    private readonly PlannerHarness _h = new PlannerHarness()
        .With("a1", "h1", "2", Levels.Core, Levels.Container)
        .With("t1", "h2", "", Levels.Container)
        .With("hv1", "h1", "", Levels.Vm)
        .With("hv2", "h2", "", Levels.Vm);

    [Fact]
    public void Full_pool_escalates_a_containerised_pid_to_container_level()
    {
        _h.Isolate(Process(50), Scopes.Core, "h1:1:r1");

        var d = _h.Plan(PlannerHarness.Detection(Process(101, container: "c1"), Scopes.Core, "h1:2:r1"));

        var c = Assert.IsType<Schemas.IsolationCommand>(d.Command);
        Assert.Equal(("container", "a1", "t1"), (c.level, c.source, c.target));
        Assert.Equal(
            [
                "level core: no free CPU in isolation pool 2 of a1",
                // A node of its own also breaks a core-scope channel: tried (and not announced here) before a move.
                "level numa: no numa-level actuator on host h1 (its agent announces the level only where the machine has the mechanism)",
                "level container: container moves from h1 to h2, which has no other tenant",
            ],
            d.Reasons);
        Assert.Equal(d.Reasons, c.reasons);
    }

    [Fact]
    public void Non_process_at_core_scope_escalates()
    {
        var d = _h.Plan(PlannerHarness.Detection(Container("c1"), Scopes.Core));

        Assert.Equal(Levels.Container, d.Command?.level);
        Assert.Equal((Actions.Receive, "t1", "a1"), (d.Receive?.action, d.Receive?.target, d.Receive?.source));
        Assert.Equal("level core: entity is not a process", d.Reasons[0]);
        Assert.Null(_h.Book.Holder("a1", 2));
    }

    [Fact]
    public void Machine_scope_never_goes_down_to_core_even_with_a_free_cpu()
    {
        var c = _h.Isolate(Process(101, container: "c1"), Scopes.Machine);

        Assert.Equal(Levels.Container, c.level);
        Assert.DoesNotContain(c.reasons, r => r.StartsWith("level core", StringComparison.Ordinal));
        Assert.Null(_h.Book.Holder("a1", 2));
    }

    [Fact]
    public void Failed_result_releases_the_slot_and_tries_the_next_level()
    {
        var core = _h.Isolate(Process(101, container: "c1"), Scopes.Core);
        Assert.Equal("container:dc1/h1/c1", _h.Book.Holder("a1", 2));

        var next = _h.Planner.OnResult(PlannerHarness.Result(core, ResultStatus.Failed, "cgroup busy"));

        Assert.Null(_h.Book.Holder("a1", 2));
        var c = Assert.IsType<Schemas.IsolationCommand>(next.Command);
        Assert.Equal(("container", "t1"), (c.level, c.target));
        Assert.Equal(core.detectionId, c.detectionId);
        Assert.Equal("level core: actuator reported failed: cgroup busy", next.Reasons[0]);
        Assert.Equal(1, _h.Planner.Pending);
    }

    [Fact]
    public void Rejected_result_is_retried_once_at_its_level_under_a_new_id_then_escalates_and_never_downward()
    {
        var container = _h.Isolate(Process(101, container: "c1", vm: "v1"), Scopes.Machine);

        // Rejected means never started (the agent was down past the deadline): the same level once more, new id.
        var retry = _h.Planner.OnResult(PlannerHarness.Result(container, ResultStatus.Rejected, "expired: deadline passed"));
        Assert.Equal((Levels.Container, container.commandId + "-retry"), (retry.Command?.level, retry.Command?.commandId));
        Assert.Contains(retry.Reasons, r => r.Contains("never started", StringComparison.Ordinal));

        var next = _h.Planner.OnResult(PlannerHarness.Result(retry.Command!, ResultStatus.Rejected, "expired: deadline passed"));

        Assert.Equal(Levels.Vm, next.Command?.level);
        Assert.Equal("hv2", next.Command?.target);
        Assert.DoesNotContain(next.Reasons, r => r.StartsWith("level core", StringComparison.Ordinal));
        Assert.Equal(1, _h.Book.HeldCount); // t1 released, hv2 held
    }

    [Fact]
    public void Failure_at_the_top_level_stops()
    {
        var vm = _h.Isolate(Vm("v1"), Scopes.Vm);

        var next = _h.Planner.OnResult(PlannerHarness.Result(vm, ResultStatus.Failed, "qmp timeout"));

        Assert.Null(next.Command);
        Assert.Equal(["level vm: actuator reported failed: qmp timeout", "no level above vm: entity stays where it is"], next.Reasons);
        Assert.Equal(0, _h.Book.HeldCount);
        Assert.Equal(0, _h.Planner.Pending);
    }

    [Theory]
    [InlineData(ResultStatus.Succeeded)]
    [InlineData(ResultStatus.Skipped)]
    public void Success_keeps_the_slot(string status)
    {
        var core = _h.Isolate(Process(101), Scopes.Core);

        var d = _h.Planner.OnResult(PlannerHarness.Result(core, status));

        Assert.Null(d.Command);
        Assert.Equal([$"dc1/h1/pid/101 isolated at level core in slot a1#cpu:2 ({status})"], d.Reasons);
        Assert.Equal("dc1/h1/pid/101", _h.Book.Holder("a1", 2));
        Assert.Equal(0, _h.Planner.Pending);
        Assert.Null(_h.Plan(PlannerHarness.Detection(Process(102), Scopes.Core, "h1:2:r1")).Command);
    }

    [Fact]
    public void Result_for_an_unknown_or_answered_command_is_ignored()
    {
        var core = _h.Isolate(Process(101), Scopes.Core);
        var stranger = PlannerHarness.Result(core, ResultStatus.Failed);
        stranger.commandId = "c-other";

        var d = _h.Planner.OnResult(stranger);

        Assert.Null(d.Command);
        Assert.Equal(["result for command c-other that is not outstanding: nothing to do"], d.Reasons);
        Assert.Equal("dc1/h1/pid/101", _h.Book.Holder("a1", 2));
        Assert.Equal(1, _h.Planner.Pending);

        _h.Planner.OnResult(PlannerHarness.Result(core, ResultStatus.Succeeded));
        var late = _h.Planner.OnResult(PlannerHarness.Result(core, ResultStatus.Failed));
        Assert.Null(late.Command);
        Assert.Equal("dc1/h1/pid/101", _h.Book.Holder("a1", 2));
    }

    [Fact]
    public void Failure_of_a_later_move_keeps_the_cpu_of_an_earlier_successful_one()
    {
        var entity = Process(101, container: "c1");
        var core = _h.Isolate(entity, Scopes.Core, "h1:1:core-rule");
        _h.Planner.OnResult(PlannerHarness.Result(core, ResultStatus.Succeeded));
        _h.Time.Advance(TimeSpan.FromSeconds(11)); // past the planner's wall-clock cooldown
        var container = _h.Isolate(entity, Scopes.Machine, "h1:2:machine-rule");

        _h.Planner.OnResult(PlannerHarness.Result(container, ResultStatus.Failed, "criu"));

        // The process still runs pinned on CPU 2: handing it to someone else would share its core.
        Assert.Equal("container:dc1/h1/c1", _h.Book.Holder("a1", 2));
    }
}
