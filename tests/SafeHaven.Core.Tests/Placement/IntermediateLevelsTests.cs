using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Tests.Placement;

/// <summary>The levels between core and machine (issue 14 item 3): smt, llc and numa slots, chosen cheapest first per scope.</summary>
public sealed class IntermediateLevelsTests
{
    private static EntityRef Process(int pid, string host = "h1", string? container = null) =>
        new() { datacenter = "dc1", host = host, pid = pid, container = container };

    private static PlannerHarness Host(int llcSlots = 2, string pool = "2-7", string[]? levels = null, Dictionary<int, CpuList>? nodes = null)
    {
        var h = new PlannerHarness();
        h.Book.Upsert(new ActuatorInfo("a1", "dc1", "h1", new HashSet<string>(levels ?? Levels.OnHost, StringComparer.Ordinal), CpuList.Parse(pool))
        {
            LlcSlots = llcSlots,
            IsolationNodes = nodes ?? new Dictionary<int, CpuList> { [1] = CpuList.Parse("4-7") },
        });
        return h;
    }

    [Theory]
    [InlineData(Scopes.Smt, Levels.Smt, Planner.SmtTarget)]
    [InlineData(Scopes.Core, Levels.Core, "2")]
    [InlineData(Scopes.Llc, Levels.Llc, "0")]
    [InlineData(Scopes.Memory, Levels.Numa, "1")]
    public void Each_scope_gets_its_cheapest_level(string scope, string level, string target)
    {
        var c = Host().Isolate(Process(101), scope);
        Assert.Equal(level, c.level);
        Assert.Equal(target, c.target);
        Assert.Equal("a1", c.source);
    }

    [Fact]
    public void Llc_groups_go_one_per_suspect_group_then_the_scope_escalates_to_a_node_then_to_another_host()
    {
        var h = Host(llcSlots: 2);
        h.Book.Upsert(new ActuatorInfo("a2", "dc1", "h2", new HashSet<string>([Levels.Container], StringComparer.Ordinal), CpuList.Empty));
        h.Book.Upsert(new ActuatorInfo("a1c", "dc1", "h1", new HashSet<string>([Levels.Container], StringComparer.Ordinal), CpuList.Empty));

        Assert.Equal("0", h.Isolate(Process(101), Scopes.Llc, "d1").target);
        Assert.Equal("1", h.Isolate(Process(102), Scopes.Llc, "d2").target);
        var node = h.Isolate(Process(103), Scopes.Llc, "d3");
        Assert.Equal((Levels.Numa, "1"), (node.level, node.target));
        var moved = h.Plan(PlannerHarness.Detection(Process(104, container: "c4"), Scopes.Llc, "d4"));
        Assert.True(moved.Command is not null, string.Join(" | ", moved.Reasons));
        Assert.Equal(Levels.Container, moved.Command.level);
        var why = string.Join(" | ", moved.Reasons);
        Assert.Contains("level llc: no free LLC group on a1 (all 2 held)", why, StringComparison.Ordinal);
        Assert.Contains("level numa: no free NUMA node on a1", why, StringComparison.Ordinal);
    }

    [Fact]
    public void A_core_scope_never_takes_an_llc_group_and_an_llc_scope_never_takes_a_core()
    {
        var h = Host(levels: [Levels.Llc, Levels.Smt], nodes: []);
        var core = h.Plan(PlannerHarness.Detection(Process(101), Scopes.Core, "d1"));
        Assert.Null(core.Command);
        Assert.DoesNotContain(core.Reasons, r => r.StartsWith("level llc", StringComparison.Ordinal) || r.StartsWith("level smt", StringComparison.Ordinal));

        var h2 = Host(levels: [Levels.Core], nodes: []);
        var llc = h2.Plan(PlannerHarness.Detection(Process(101), Scopes.Llc, "d1"));
        Assert.Null(llc.Command);
        Assert.Contains("level numa: no numa-level actuator on host h1", string.Join(" | ", llc.Reasons), StringComparison.Ordinal);
        Assert.DoesNotContain(llc.Reasons, r => r.StartsWith("level core", StringComparison.Ordinal));
    }

    [Fact]
    public void A_held_node_keeps_core_slots_off_its_cpus_and_a_core_slot_keeps_the_node_from_being_handed_out()
    {
        var h = Host(pool: "2-5", nodes: new Dictionary<int, CpuList> { [1] = CpuList.Parse("2-3") });
        var node = h.Isolate(Process(101), Scopes.Memory, "d1");
        Assert.Equal((Levels.Numa, "1"), (node.level, node.target));
        Assert.Equal("2-3", h.Book.Held.Single().cpus);
        Assert.Equal("4", h.Isolate(Process(102), Scopes.Core, "d2").target);

        var h2 = Host(pool: "2-5", nodes: new Dictionary<int, CpuList> { [1] = CpuList.Parse("2-3") });
        Assert.Equal("2", h2.Isolate(Process(102), Scopes.Core, "d2").target);
        var refused = h2.Plan(PlannerHarness.Detection(Process(101), Scopes.Memory, "d1"));
        Assert.Null(refused.Command);
        Assert.Contains("no free NUMA node on a1", string.Join(" | ", refused.Reasons), StringComparison.Ordinal);
    }

    [Fact]
    public void Members_of_one_group_share_its_cookie_slot_and_quiet_sends_a_release_for_the_slot()
    {
        var h = Host();
        h.Book.Tenants.Set("dc1/h1/pid/101", "dc1", "h1", "t1");
        h.Book.Tenants.SetGroup("dc1/h1/pid/101", "g1");
        h.Book.Tenants.Set("dc1/h1/pid/102", "dc1", "h1", "t1");
        h.Book.Tenants.SetGroup("dc1/h1/pid/102", "g1");
        var first = h.Isolate(Process(101), Scopes.Smt, "d1");
        var second = h.Isolate(Process(102), Scopes.Smt, "d2");
        Assert.Equal(first.group, second.group);
        Assert.Single(h.Book.Held);
        h.Planner.OnResult(PlannerHarness.Result(first, ResultStatus.Succeeded));

        var quiet = PlannerHarness.Detection(Process(101), Scopes.Smt, "q1");
        quiet.kind = DetectionKinds.Quiet;
        var release = h.Planner.Plan(quiet);
        Assert.True(release.Command is not null, string.Join(" | ", release.Reasons));
        Assert.Equal((Actions.Release, Levels.Smt, Planner.SmtTarget), (release.Command.action, release.Command.level, release.Command.target));
    }

    [Fact]
    public void A_failed_llc_move_escalates_through_the_scopes_levels_only()
    {
        var h = Host(levels: [Levels.Core, Levels.Llc, Levels.Numa]);
        var llc = h.Isolate(Process(101), Scopes.Llc, "d1");
        var next = h.Planner.OnResult(PlannerHarness.Result(llc, ResultStatus.Failed, "EINVAL"));
        Assert.True(next.Command is not null, string.Join(" | ", next.Reasons));
        Assert.Equal(Levels.Numa, next.Command.level);
    }

    [Fact]
    public void An_entity_isolated_at_a_level_that_breaks_the_scope_is_not_planned_again_but_one_that_does_not_is()
    {
        var h = Host();
        h.Isolate(Process(101), Scopes.Memory, "d1");
        var again = h.Plan(PlannerHarness.Detection(Process(101), Scopes.Core, "d2"));
        Assert.Null(again.Command);
        Assert.Contains("dc1/h1/pid/101 is already pending in slot a1#numa:1 (level numa)", again.Reasons);
        var h2 = Host();
        h2.Isolate(Process(101), Scopes.Llc, "d1");
        h2.Time.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal(Levels.Core, h2.Isolate(Process(101), Scopes.Core, "d2").level);
        Assert.Equal(2, h2.Book.MembershipsOf("dc1/h1/pid/101").Count());
    }
}
