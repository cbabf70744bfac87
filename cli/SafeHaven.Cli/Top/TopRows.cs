using SafeHaven.Schemas;

namespace SafeHaven.Cli.Top;

/// <summary>One host's sampling state.</summary>
internal sealed class HostRow(string host, string datacenter)
{
    public string Host { get; } = host;

    public string Datacenter { get; } = datacenter;

    public long Samples { get; set; }

    public long LastWindowEndNs { get; set; }

    public long PeriodNs { get; set; }

    /// <summary>Entities in the last complete tick (0 until one completed).</summary>
    public int EntitiesLastTick { get; set; }

    public int EntitiesThisTick { get; set; }
}

/// <summary>An entity detected recently, with its latest rate of the rule's counter.</summary>
internal sealed class HotRow(string entityId, EntityRef entity)
{
    public string EntityId { get; } = entityId;

    public EntityRef Entity { get; } = entity;

    public string Rule { get; set; } = "";

    public string Counter { get; set; } = "";

    public double Threshold { get; set; }

    public string Scope { get; set; } = "";

    public long Detections { get; set; }

    public long LastDetectedAtNs { get; set; }

    /// <summary>The rate the latest detection reported (above ε when it fired).</summary>
    public double DetectedRate { get; set; }

    public double LastRate { get; set; }

    public long LastRateAtNs { get; set; }
}

/// <summary>A recent command and, once it came, its result.</summary>
internal sealed class CommandRow(string commandId, EntityRef entity, string level, string action, string target, long issuedAtNs)
{
    public string CommandId { get; } = commandId;

    public EntityRef Entity { get; } = entity;

    public string Level { get; } = level;

    public string Action { get; } = action;

    public string Target { get; } = target;

    public long IssuedAtNs { get; } = issuedAtNs;

    public string? Status { get; set; }

    public string? Error { get; set; }

    public double? TotalMs { get; set; }

    public Dictionary<string, double> Phases { get; set; } = [];
}

/// <summary>Everything <c>top</c> shows at one instant.</summary>
internal sealed record TopSnapshot(
    long NowNs,
    IReadOnlyList<HostRow> Hosts,
    IReadOnlyList<HotRow> Hot,
    IReadOnlyList<SlotRecord> Isolations,
    IReadOnlyList<SlotRecord> Waiting,
    IReadOnlyList<CommandRow> Commands,
    IReadOnlyDictionary<string, int> DeadLetters,
    long Skipped,
    long Failed,
    IReadOnlyDictionary<string, long> Records);
