using SafeHaven.Core.Placement;
using static SafeHaven.Core.Tests.TestData;

namespace SafeHaven.Core.Tests.Placement;

public sealed class PlannerTests
{
    private readonly PlannerHarness _h = new PlannerHarness().With("a1", "h1", "2-3", Levels.Core);

    [Fact]
    public void Core_scope_pids_get_the_pool_cpus_in_order_then_no_slot()
    {
        var c1 = _h.Isolate(Process(101), Scopes.Core, "h1:1:r1");
        var c2 = _h.Isolate(Process(102), Scopes.Core, "h1:2:r1");
        var third = _h.Plan(PlannerHarness.Detection(Process(103), Scopes.Core, "h1:3:r1"));

        Assert.Equal(("core", "a1", "2"), (c1.level, c1.source, c1.target));
        Assert.Equal(("core", "a1", "3"), (c2.level, c2.source, c2.target));
        Assert.Null(third.Command);
        Assert.Equal(
            [
                "level core: no free CPU in isolation pool 2-3 of a1",
                "level numa: no numa-level actuator on host h1 (its agent announces the level only where the machine has the mechanism)",
                "level container: entity is not in a container",
                "level vm: entity is not in a vm",
                "no level can isolate the entity (retried when the inventory changes or a slot is freed)",
            ],
            third.Reasons);
        Assert.Equal(2, _h.Planner.Pending);
    }

    [Fact]
    public void Same_entity_detected_again_gets_no_second_command_and_keeps_its_cpu()
    {
        _h.Isolate(Process(101), Scopes.Core, "h1:1:r1");
        _h.Isolate(Process(102), Scopes.Core, "h1:2:r1");

        var again = _h.Plan(PlannerHarness.Detection(Process(101), Scopes.Core, "h1:3:r1"));
        var redelivered = _h.Plan(PlannerHarness.Detection(Process(101), Scopes.Core, "h1:1:r1"));

        Assert.Null(again.Command);
        Assert.Equal(["dc1/h1/pid/101 is already pending in slot a1#cpu:2 (level core)"], again.Reasons);
        Assert.Null(redelivered.Command);
        Assert.Equal(["detection h1:1:r1 is already in the ledger: nothing to do"], redelivered.Reasons);
        Assert.Equal("dc1/h1/pid/101", _h.Book.Holder("a1", 2));
        Assert.Equal(2, _h.Book.HeldCount);
    }

    [Fact]
    public void Command_fields()
    {
        var h = new PlannerHarness(ttl: TimeSpan.FromMilliseconds(1500), dryRun: true).With("a1", "h1", "2-3", Levels.Core);
        h.Time.Advance(TimeSpan.FromSeconds(7));
        var entity = Process(101);

        var decision = h.Plan(PlannerHarness.Detection(entity, Scopes.Core, "h1:9:cs"));

        var c = Assert.IsType<Schemas.IsolationCommand>(decision.Command);
        var issued = PlannerHarness.StartNs + 7_000_000_000;
        Assert.Equal(issued, c.issuedAtNs);
        Assert.Equal(issued + 1_500_000_000, c.deadlineNs);
        Assert.True(c.dryRun);
        Assert.Equal("a1", c.source);
        Assert.Equal("2", c.target);
        Assert.Equal(Levels.Core, c.level);
        Assert.Equal(Actions.Isolate, c.action);
        Assert.Equal("h1:9:cs", c.detectionId);
        Assert.Same(entity, c.entity);
        Assert.Equal("c-h1:9:cs-core", c.commandId);
        Assert.True(Identifiers.IsId(c.commandId));
        Assert.Equal(["level core: exclusive CPU 2 of a1's pool 2-3 for group dc1/h1/pid/101"], c.reasons);
        Assert.Equal(decision.Reasons, c.reasons);
        Assert.Empty(c.signature);
    }

    [Fact]
    public void Commands_are_not_dry_runs_by_default_and_use_the_current_time()
    {
        var c1 = _h.Isolate(Process(101), Scopes.Core, "h1:1:r1");
        _h.Time.Advance(TimeSpan.FromMilliseconds(250));
        var c2 = _h.Isolate(Process(102), Scopes.Core, "h1:2:r1");

        Assert.False(c1.dryRun);
        Assert.Equal(PlannerHarness.StartNs, c1.issuedAtNs);
        Assert.Equal(PlannerHarness.StartNs + 5_000_000_000, c1.deadlineNs);
        Assert.Equal(PlannerHarness.StartNs + 250_000_000, c2.issuedAtNs);
        Assert.NotEqual(c1.commandId, c2.commandId);
    }

    [Fact]
    public void Machine_scope_reserves_one_other_host_per_container()
    {
        var h = new PlannerHarness()
            .With("src", "h1", "", Levels.Container)
            .With("t1", "h2", "", Levels.Container)
            .With("t2", "h3", "", Levels.Container);

        var c1 = h.Isolate(Container("c1"), Scopes.Machine, "h1:1:r1");
        var c2 = h.Isolate(Container("c2"), Scopes.Machine, "h1:2:r1");
        var third = h.Plan(PlannerHarness.Detection(Container("c3"), Scopes.Machine, "h1:3:r1"));

        Assert.Equal(("container", "src", "t1"), (c1.level, c1.source, c1.target));
        Assert.Equal(("container", "src", "t2"), (c2.level, c2.source, c2.target));
        Assert.Equal(["level container: container moves from h1 to h2, which has no other tenant"], c1.reasons);
        Assert.Null(third.Command);
        Assert.Equal(["level container: no free target host for level container (h2 is held for another suspect group; h3 is held for another suspect group)", "level vm: entity is not in a vm", "no level can isolate the entity (retried when the inventory changes or a slot is freed)"], third.Reasons);
        Assert.Equal(["dc1/h1/container/c1 is already pending in slot dc1/h2#host (level container)"],
            h.Plan(PlannerHarness.Detection(Container("c1"), Scopes.Machine, "h1:4:r1")).Reasons);
    }

    [Fact]
    public void Container_without_a_source_actuator_on_its_host_cannot_move()
    {
        var h = new PlannerHarness().With("t1", "h2", "", Levels.Container);

        var d = h.Plan(PlannerHarness.Detection(Container("c1"), Scopes.Machine));

        Assert.Null(d.Command);
        Assert.Equal("level container: no container-level actuator on host h1", d.Reasons[0]);
        Assert.Equal(0, h.Book.HeldCount);
    }

    [Fact]
    public void Vm_and_hypervisor_scopes_start_at_vm_level()
    {
        var h = new PlannerHarness().With("hv1", "h1", "", Levels.Vm).With("hv2", "h2", "", Levels.Vm);

        var c = h.Isolate(Vm("v1"), Scopes.Hypervisor);

        Assert.Equal(("vm", "hv1", "hv2"), (c.level, c.source, c.target));
        Assert.Equal(["level vm: vm moves from h1 to h2, which has no other tenant"], c.reasons);
    }

    [Fact]
    public void A_vm_move_comes_with_a_receive_command_for_the_target_agent_that_is_not_the_moves_outcome()
    {
        var h = new PlannerHarness().With("hv1", "h1", "", Levels.Vm).With("hv2", "h2", "", Levels.Vm);

        var d = h.Plan(PlannerHarness.Detection(Vm("v1"), Scopes.Vm));

        var (move, receive) = (d.Command!, d.Receive!);
        Assert.Equal((move.commandId + Actions.ReceiveIdSuffix, Actions.Receive), (receive.commandId, receive.action));
        Assert.Equal((move.level, move.source, move.target, move.deadlineNs, move.entity), (receive.level, receive.source, receive.target, receive.deadlineNs, receive.entity));
        Assert.True(Identifiers.IsId(receive.commandId));
        // Only the source's result settles the move: the receive result is the destination's report.
        Assert.Contains("is not outstanding", h.Planner.OnResult(new Schemas.IsolationResult { commandId = receive.commandId, status = ResultStatus.Failed }).Reasons[0], StringComparison.Ordinal);
        Assert.Equal(1, h.Planner.Pending);
        Assert.Null(h.Plan(PlannerHarness.Detection(Process(5), Scopes.Core)).Receive);
    }

    [Fact]
    public void Unknown_scope_and_invalid_entity_give_no_command()
    {
        var unknown = _h.Plan(PlannerHarness.Detection(Process(101), "cache"));
        Assert.Null(unknown.Command);
        Assert.Contains("unknown scope 'cache'", Assert.Single(unknown.Reasons), StringComparison.Ordinal);

        var invalid = _h.Plan(PlannerHarness.Detection(Process(0), Scopes.Core));
        Assert.Null(invalid.Command);
        Assert.StartsWith("invalid entity: pid", Assert.Single(invalid.Reasons), StringComparison.Ordinal);
        Assert.Equal(0, _h.Book.HeldCount);
        Assert.Equal(0, _h.Planner.Pending);
    }
}
