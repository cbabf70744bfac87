using Microsoft.Extensions.Time.Testing;
using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Tests.Placement;

/// <summary>A planner over a book, with a fake clock, and builders for detections and results.</summary>
internal sealed class PlannerHarness
{
    public static readonly DateTimeOffset Start = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
    public static readonly long StartNs = (Start - DateTimeOffset.UnixEpoch).Ticks * 100;

    public PlannerHarness(TimeSpan? ttl = null, bool dryRun = false, PlannerPolicy? policy = null)
    {
        Time = new FakeTimeProvider(Start);
        Planner = new Planner(Book, Time, new PlannerSettings(ttl ?? TimeSpan.FromSeconds(5), dryRun, Policy: policy));
    }

    public PlacementBook Book { get; } = new();

    public FakeTimeProvider Time { get; }

    public Planner Planner { get; }

    public PlannerHarness With(string id, string host, string pool, params string[] levels)
    {
        Book.Upsert(PlacementBookTests.Actuator(id, host, pool, levels: levels));
        return this;
    }

    public static Detection Detection(EntityRef entity, string scope, string id = "h1:1:r1") => new()
    {
        detectionId = id,
        entity = entity,
        rule = "r1",
        counter = "context-switches",
        rate = 5000,
        threshold = 1000,
        scope = scope,
        detectedAtNs = StartNs,
        firstSampleAtNs = StartNs - 1_000_000_000,
    };

    public static IsolationResult Result(IsolationCommand command, string status, string? error = null) => new()
    {
        commandId = command.commandId,
        entity = command.entity,
        level = command.level,
        status = status,
        error = error,
        phases = new Dictionary<string, long>(StringComparer.Ordinal),
    };

    /// <summary>Plans <paramref name="detection"/> after the entity's inventory record, as the probe sends it first.</summary>
    public PlanDecision Plan(Detection detection)
    {
        if (detection.entity.pid is > 0 && !Book.Tenants.Knows(EntityIds.Of(detection.entity)))
        {
            Book.Tenants.Set(EntityIds.Of(detection.entity), detection.entity.datacenter, detection.entity.host, null);
        }
        return Planner.Plan(detection);
    }

    public IsolationCommand Isolate(EntityRef entity, string scope, string id = "h1:1:r1")
    {
        var decision = Plan(Detection(entity, scope, id));
        Assert.True(decision.Command is not null, string.Join(" | ", decision.Reasons));
        return decision.Command;
    }
}
