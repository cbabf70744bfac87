using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.Core.CrossDc;

/// <summary>When a detection must leave its datacenter, and the ids of the two commands of such a move (docs/SCALING.md §4).</summary>
public static class CrossDcPolicy
{
    /// <summary>
    /// The level at which <paramref name="detection"/> must leave its datacenter, or null: when the planner parked it
    /// (no level of this datacenter has room: a <c>wait</c> ledger record, no command, nothing skipped or refused) and the
    /// entity can move between hosts at a level at or above its scope's minimum (container or VM, cheapest first).
    /// </summary>
    public static string? LevelToLeave(Detection detection, PlanDecision decision)
    {
        ArgumentNullException.ThrowIfNull(detection);
        ArgumentNullException.ThrowIfNull(decision);
        if (decision.Command is not null || decision.Skipped is not null || decision.DeadLetter is not null
            || !decision.Records.Any(r => r.@event == LedgerEvents.Wait && r.members.Any(m => m.detectionId == detection.detectionId)))
        {
            return null;
        }
        return LevelToLeave(detection.entity, detection.scope);
    }

    /// <summary>
    /// As <see cref="LevelToLeave(Detection, PlanDecision)"/> for a detection that still waits in the ledger (a
    /// <see cref="MemberStatus.Waiting"/> member): it waited before its hypervisor's inventory arrived, or a move out
    /// did not move it, and a retry found no room at home either.
    /// </summary>
    public static string? LevelToLeave(SlotMember waiting)
    {
        ArgumentNullException.ThrowIfNull(waiting);
        return waiting.status == MemberStatus.Waiting && waiting.detectionId is not null ? LevelToLeave(waiting.entity, waiting.scope) : null;
    }

    // The cheapest level at or above the scope's minimum at which the entity moves between hosts: container, then VM.
    private static string? LevelToLeave(EntityRef entity, string scope)
    {
        int min;
        try
        {
            min = Levels.IndexOf(Scopes.MinimumLevel(scope));
        }
        catch (ArgumentException)
        {
            return null;
        }
        if (min <= Levels.IndexOf(Levels.Container) && entity.container is not null)
        {
            return Levels.Container;
        }
        return entity.vm is not null ? Levels.Vm : null;
    }

    /// <summary>The isolate command's id of a cross-datacenter move under lease <paramref name="epoch"/>; the receive's adds <see cref="Actions.ReceiveIdSuffix"/>.</summary>
    public static string IsolateId(string detectionId, string level, long epoch) =>
        Planner.CommandId(detectionId, level + "-xdc" + epoch.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>The receive command's id of the move (<see cref="IsolateId"/>).</summary>
    public static string ReceiveId(string detectionId, string level, long epoch) => IsolateId(detectionId, level, epoch) + Actions.ReceiveIdSuffix;

    /// <summary>
    /// True when <paramref name="commandId"/> has the form of a cross-datacenter move's receive (<see cref="ReceiveId"/>:
    /// <c>…-LEVEL-xdcEPOCH-in</c>), not the receive of a move inside one datacenter (<c>…-LEVEL-in</c>).
    /// </summary>
    public static bool IsReceiveId(string? commandId)
    {
        if (commandId is null || !commandId.EndsWith(Actions.ReceiveIdSuffix, StringComparison.Ordinal))
        {
            return false;
        }
        var isolate = commandId.AsSpan(0, commandId.Length - Actions.ReceiveIdSuffix.Length);
        var step = isolate[(isolate.LastIndexOf('-') + 1)..];
        return step.Length > 3 && step.StartsWith("xdc", StringComparison.Ordinal) && step[3..].IndexOfAnyExceptInRange('0', '9') < 0;
    }
}
