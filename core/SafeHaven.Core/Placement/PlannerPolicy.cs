namespace SafeHaven.Core.Placement;

/// <summary>What the planner refuses to act on, whatever the bus says (docs/SECURITY.md).</summary>
/// <param name="DetectionTtl">
/// A detection dated further than this from now (either way) is dead-lettered. Default 5 min: longer than a planner
/// outage should last, since a detection dead-lettered for its age is not repeated while its entity stays hot.
/// </param>
/// <param name="Cooldown">After a move of an entity, a new detection of it waits this long in wall-clock time. Default 10 s.</param>
/// <param name="Budgets">Move budgets per host, entity and datacenter.</param>
public sealed record PlannerPolicy(TimeSpan DetectionTtl, TimeSpan Cooldown, MoveBudgets Budgets)
{
    /// <summary>The defaults: 5 min TTL, 10 s cooldown, default budgets.</summary>
    public static PlannerPolicy Default { get; } = new(TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(10), new MoveBudgets());

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (DetectionTtl <= TimeSpan.Zero)
        {
            throw new ArgumentException($"detection TTL must be positive, got {DetectionTtl}");
        }
        if (Cooldown < TimeSpan.Zero)
        {
            throw new ArgumentException($"cooldown must not be negative, got {Cooldown}");
        }
        Budgets.Validate();
    }
}
