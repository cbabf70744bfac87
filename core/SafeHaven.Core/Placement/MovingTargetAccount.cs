using SafeHaven.Schemas;

namespace SafeHaven.Core.Placement;

/// <summary>What moving-target defence cost one entity over a window.</summary>
/// <param name="Entity">dc/host/pid/N (core), container/ID or vm/NAME (they change host as they move).</param>
/// <param name="Level">The schedule's level.</param>
/// <param name="Moves">Moves carried out (succeeded, not dry runs).</param>
/// <param name="Failures">Moves failed or rejected by the agent.</param>
/// <param name="Skipped">Moves the planner did not issue (a detection held the entity, no free target, a budget), with their reasons counted.</param>
/// <param name="Preempted">Times a detection took the entity's CPU (it was released to the shared CPUs).</param>
/// <param name="MovedSeconds">Sum of the moves' durations (agent's started → finished).</param>
/// <param name="DowntimeSeconds">Sum of the time the entity was stopped: VM switchover, container dump+transfer+restore; 0 for core moves, which never stop the process.</param>
/// <param name="Hours">The window the per-hour figures divide by.</param>
public sealed record MovingTargetCost(string Entity, string Level, int Moves, int Failures, int Skipped, int Preempted, double MovedSeconds,
    double DowntimeSeconds, double Hours)
{
    /// <summary>Moves per hour.</summary>
    public double MovesPerHour => Hours > 0 ? Moves / Hours : 0;

    /// <summary>Downtime per hour, in seconds.</summary>
    public double DowntimeSecondsPerHour => Hours > 0 ? DowntimeSeconds / Hours : 0;

    /// <summary>Time spent moving per hour, in seconds.</summary>
    public double MovedSecondsPerHour => Hours > 0 ? MovedSeconds / Hours : 0;
}

/// <summary>
/// Folds the results topic into per-entity moving-target overhead: results of commands the planner issued for a
/// schedule (ids <c>mtd-…</c>), each command once. Pure; feed it results in any order.
/// </summary>
public sealed class MovingTargetAccount
{
    private readonly Dictionary<string, Row> _rows = new(StringComparer.Ordinal);

    // An agent answers every copy of a command alike (the planner re-sends one whose result it missed): one count each.
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

    /// <summary>Earliest start among the counted results, in ns since the epoch; null before any.</summary>
    public long? FirstNs { get; private set; }

    /// <summary>Latest finish among the counted results.</summary>
    public long? LastNs { get; private set; }

    /// <summary>True for a command id of a moving-target move (or its pre-emption release).</summary>
    public static bool IsMove(string? commandId) => commandId?.StartsWith("mtd-", StringComparison.Ordinal) == true;

    /// <summary>Counts one result; ignores every other kind, and the destination's half of a VM or container move.</summary>
    public void Add(IsolationResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        if (!IsMove(r.commandId) || r.commandId.EndsWith(Actions.ReceiveIdSuffix, StringComparison.Ordinal) || r.entity is null
            || !_seen.Add(r.commandId))
        {
            return;
        }
        var key = r.entity.pid is not null ? $"{r.entity.datacenter}/{r.entity.host}/pid/{r.entity.pid}"
            : r.entity.vm is not null ? $"vm/{r.entity.vm}" : $"container/{r.entity.container}";
        if (!_rows.TryGetValue(key, out var row))
        {
            _rows[key] = row = new Row { Level = r.level };
        }
        FirstNs = Math.Min(FirstNs ?? r.startedAtNs, r.startedAtNs);
        LastNs = Math.Max(LastNs ?? r.finishedAtNs, r.finishedAtNs);
        if (r.commandId.EndsWith("-release", StringComparison.Ordinal))
        {
            row.Preempted++;
            return;
        }
        switch (r.status)
        {
            case ResultStatus.Succeeded when !r.dryRun:
                row.Moves++;
                row.MovedNs += Math.Max(0, r.finishedAtNs - r.startedAtNs);
                row.DowntimeNs += Downtime(r);
                break;
            case ResultStatus.Failed or ResultStatus.Rejected:
                row.Failures++;
                break;
            case ResultStatus.Skipped:
                row.Skipped++;
                break;
        }
    }

    /// <summary>Every entity's cost over [<paramref name="fromNs"/>, <paramref name="toNs"/>] (the per-hour divisor).</summary>
    public IReadOnlyList<MovingTargetCost> Report(long fromNs, long toNs)
    {
        var hours = Math.Max(0, toNs - fromNs) / 3.6e12;
        return [.. _rows.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => new MovingTargetCost(kv.Key, kv.Value.Level, kv.Value.Moves,
            kv.Value.Failures, kv.Value.Skipped, kv.Value.Preempted, kv.Value.MovedNs / 1e9, kv.Value.DowntimeNs / 1e9, hours))];
    }

    // The time the entity did not run: a VM between the source's STOP and the destination's RESUME; a container from
    // its freeze (dump) until restored; a process moved between CPUs never stops.
    private static long Downtime(IsolationResult r)
    {
        long Phase(string name) => r.phases?.TryGetValue(name, out var v) == true ? Math.Max(0, v) : 0;
        return r.level switch
        {
            Levels.Vm => Phase("switchover"),
            Levels.Container => Phase("dump") + Phase("transfer") + Phase("restore"),
            _ => 0,
        };
    }

    private sealed class Row
    {
        public string Level { get; init; } = "";
        public int Moves { get; set; }
        public int Failures { get; set; }
        public int Skipped { get; set; }
        public int Preempted { get; set; }
        public long MovedNs { get; set; }
        public long DowntimeNs { get; set; }
    }
}
