using SafeHaven.Core;

namespace SafeHaven.StreamProcessors.MovingTarget;

/// <summary>An entity the moving-target scheduler migrates; at the core level, a process on a host.</summary>
public sealed class MovingTargetEntity
{
    /// <summary>Datacenter of the host; empty matches the actuator's own datacenter.</summary>
    public string Datacenter { get; set; } = "";

    /// <summary>Host the process runs on; its core-level actuator executes the moves.</summary>
    public string Host { get; set; } = "";

    /// <summary>Process id.</summary>
    public int Pid { get; set; }
}

/// <summary>Moving-target defence settings (config section <c>SafeHaven:MovingTarget</c>).</summary>
public sealed class MovingTargetOptions
{
    /// <summary>Config section name.</summary>
    public const string SectionName = "SafeHaven:MovingTarget";

    /// <summary>Largest pid Linux can hand out (pid_max limit).</summary>
    private const int MaxPid = 4_194_304;

    /// <summary>Entities to migrate every <see cref="Period"/>. Required, at least one.</summary>
    public IList<MovingTargetEntity> Entities { get; } = [];

    /// <summary>Isolation level of the moves; only <c>core</c> is supported for now.</summary>
    public string Level { get; set; } = Levels.Core;

    /// <summary>Time between two migrations of each entity. Defaults to 30 s (the original's figure).</summary>
    public TimeSpan Period { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an actuator may still start a command. Defaults to 10 s.</summary>
    public TimeSpan CommandTtl { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Mark every command as a dry run. Defaults to false.</summary>
    public bool DryRun { get; set; }

    /// <summary>Prefix of the scheduler's consumer group (made unique per run, so it always reads the whole inventory).</summary>
    public string GroupId { get; set; } = "safehaven-mtd";

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (Level != Levels.Core)
        {
            throw new ArgumentException($"{SectionName}:{nameof(Level)}: moving-target level '{Level}' is not supported (only '{Levels.Core}' for now)");
        }
        // Below a second the moves (≈25 ms each) would dominate the workload's time.
        if (Period < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentException($"{SectionName}:{nameof(Period)}: moving-target period must be at least 1s, got {Period}");
        }
        if (CommandTtl <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{SectionName}:{nameof(CommandTtl)}: moving-target command TTL must be positive, got {CommandTtl}");
        }
        if (!Identifiers.IsToken(GroupId))
        {
            throw new ArgumentException($"{SectionName}:{nameof(GroupId)}: moving-target group id '{GroupId}' is not a valid id");
        }
        if (Entities.Count == 0)
        {
            throw new ArgumentException($"{SectionName}:{nameof(Entities)}: moving-target defence needs at least one entity (host and pid)");
        }
        var seen = new HashSet<(string, int)>();
        foreach (var e in Entities)
        {
            if (!Identifiers.IsToken(e.Host) || (e.Datacenter.Length > 0 && !Identifiers.IsToken(e.Datacenter)))
            {
                throw new ArgumentException($"{SectionName}:{nameof(Entities)}: moving-target entity host '{e.Host}' / datacenter '{e.Datacenter}' is not a valid id");
            }
            if (e.Pid is < 1 or > MaxPid)
            {
                throw new ArgumentException($"{SectionName}:{nameof(Entities)}: moving-target pid {e.Pid} is not a valid pid (1..{MaxPid})");
            }
            if (!seen.Add((e.Host, e.Pid)))
            {
                throw new ArgumentException($"{SectionName}:{nameof(Entities)}: moving-target entity {e.Host}/pid/{e.Pid} is listed twice");
            }
        }
    }
}
