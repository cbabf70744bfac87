namespace SafeHaven.StreamProcessors.Planning;

/// <summary>Planner settings (config section <c>SafeHaven:Planner</c>).</summary>
public sealed class PlannerOptions
{
    /// <summary>Config section name.</summary>
    public const string SectionName = "SafeHaven:Planner";

    /// <summary>Consumer group of the planner. Defaults to <c>safehaven-planner</c>.</summary>
    public string GroupId { get; set; } = "safehaven-planner";

    /// <summary>How long an actuator may still start a command. Defaults to 10 s.</summary>
    public TimeSpan CommandTtl { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Mark every command as a dry run. Defaults to false.</summary>
    public bool DryRun { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(GroupId))
        {
            throw new ArgumentException("planner group id is empty");
        }
        if (CommandTtl <= TimeSpan.Zero)
        {
            throw new ArgumentException($"command TTL must be positive, got {CommandTtl}");
        }
    }
}
