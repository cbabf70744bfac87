using CsCheck;
using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Tests.Placement;

/// <summary>
/// The network scope (issue 14): a suspect leaves its network segment for one where none of its potential victims
/// (tenants sharing its segment) runs, on a host with no other tenant, at the container or vm level.
/// </summary>
public sealed class NetworkScopeTests
{
    private static readonly EntityRef Suspect = new() { datacenter = "dc1", host = "h1", container = "c1" };
    private const string SuspectId = "dc1/h1/container/c1";

    [Fact]
    public void The_suspect_leaves_its_segment_for_one_without_its_victims_and_every_refusal_is_named()
    {
        var h = new PlannerHarness();
        Host(h, "h1", "rack-a");
        Host(h, "h2", "rack-a");   // its segment
        Host(h, "h3", "rack-b");   // a victim's segment: alice runs on h6
        Host(h, "h4", null);       // unlabelled
        Host(h, "h5", "rack-c");   // fit
        Host(h, "h6", "rack-b");
        h.Book.Tenants.Set(SuspectId, "dc1", "h1", "mallory");
        h.Book.Tenants.Set("dc1/h2/pid/7", "dc1", "h2", "alice");
        h.Book.Tenants.Set("dc1/h6/pid/8", "dc1", "h6", "alice");

        var decision = h.Plan(PlannerHarness.Detection(Suspect, Scopes.Network));

        Assert.True(decision.Command is not null, string.Join(" | ", decision.Reasons));
        Assert.Equal("a-h5", decision.Command.target);
        Assert.Equal(Levels.Container, decision.Command.level);
        var why = string.Join(" | ", decision.Reasons);
        Assert.Contains("h2 is in the suspect's segment rack-a", why, StringComparison.Ordinal);
        Assert.Contains("h3's segment rack-b runs victim tenant alice", why, StringComparison.Ordinal);
        Assert.Contains("h4 has no network segment label", why, StringComparison.Ordinal);
    }

    [Fact]
    public void A_suspect_on_an_unlabelled_host_cannot_be_planned_and_says_why()
    {
        var h = new PlannerHarness();
        Host(h, "h1", null);
        Host(h, "h2", "rack-b");

        var decision = h.Plan(PlannerHarness.Detection(Suspect, Scopes.Network));

        Assert.Null(decision.Command);
        Assert.Contains(decision.Reasons, r => r.Contains("host h1 has no network segment label", StringComparison.Ordinal));
    }

    [Fact]
    public void The_network_scope_starts_at_the_container_level() => Assert.Equal(Levels.Container, Scopes.MinimumLevel(Scopes.Network));

    /// <summary>Random labelled inventories: a command exactly when a fit host exists, and only to a fit host.</summary>
    [Fact]
    public void A_command_goes_out_exactly_when_a_fit_host_exists_and_only_to_one()
    {
        var segments = new string?[] { "s0", "s1", "s2", null };
        var tenants = new string?[] { "alice", "bob", "mallory", null };
        Gen.Select(Gen.Int[0, 3].Array[6], Gen.Int[0, 3].Array[6], Gen.Int[0, 3])
            .Sample((segOf, tenantOf, suspectTenant) =>
            {
                var h = new PlannerHarness();
                for (var i = 0; i < 6; i++)
                {
                    Host(h, $"h{i + 1}", segments[segOf[i]]);
                    h.Book.Tenants.Set($"dc1/h{i + 1}/pid/{100 + i}", "dc1", $"h{i + 1}", tenants[tenantOf[i]]);
                }
                var mine = tenants[suspectTenant];
                h.Book.Tenants.Set(SuspectId, "dc1", "h1", mine);

                var decision = h.Plan(PlannerHarness.Detection(Suspect, Scopes.Network));

                var fit = Enumerable.Range(2, 5).Where(i => Fit(i, segOf, tenantOf, segments, tenants, mine)).Select(i => $"a-h{i}").ToHashSet();
                var why = string.Join(" | ", decision.Reasons);
                if (fit.Count == 0)
                {
                    Assert.True(decision.Command is null, $"command to {decision.Command?.target} with no fit host: {why}");
                }
                else
                {
                    Assert.True(decision.Command is not null, $"no command although {string.Join(",", fit)} fit: {why}");
                    Assert.Contains(decision.Command.target, fit);
                }
            }, iter: 500);
    }

    // The criterion stated plainly, from the generated labels: another labelled segment than the suspect's, no tenant
    // of the suspect's segment (but its own) anywhere in it, and no other tenant on the host itself.
    private static bool Fit(int host, int[] segOf, int[] tenantOf, string?[] segments, string?[] tenants, string? mine)
    {
        string? Seg(int h) => segments[segOf[h - 1]];
        string? Ten(int h) => tenants[tenantOf[h - 1]];
        var source = Seg(1);
        if (source is null || Seg(host) is not { } target || target == source)
        {
            return false;
        }
        var victims = Enumerable.Range(1, 6).Where(h => Seg(h) == source).SelectMany(h => OthersOn(h))
            .ToHashSet();
        return !Enumerable.Range(1, 6).Where(h => Seg(h) == target).SelectMany(h => OthersOn(h)).Any(victims.Contains)
            && !OthersOn(host).Any();

        IEnumerable<string> OthersOn(int h) => new[] { Ten(h), h == 1 ? mine : null }.OfType<string>().Where(t => t != mine);
    }

    private static void Host(PlannerHarness h, string host, string? segment) =>
        h.Book.Upsert(new ActuatorInfo("a-" + host, "dc1", host, new HashSet<string> { Levels.Container }, CpuList.Empty, Segment: segment));
}
