using SafeHaven.Schemas;

namespace SafeHaven.Core.Placement;

/// <summary>
/// What the answer of another datacenter's receive did when its booking was no longer live (docs/LEDGER.md, "Late
/// receives"), or what became of a booking remembered for one: the planner's service counts it by
/// <paramref name="Outcome"/> (<see cref="LateReceiveOutcomes"/>) and logs <paramref name="Reason"/>.
/// </summary>
/// <param name="Outcome">One of <see cref="LateReceiveOutcomes"/>.</param>
/// <param name="Reason">Why, naming the receive, the slot and the sealer.</param>
public sealed record LateReceive(string Outcome, string Reason)
{
    /// <summary>A result for the SIEM naming a conflict (status <c>failed</c>, id <c>RECEIVEID-conflict</c>), or null.</summary>
    public IsolationResult? Notice { get; init; }

    /// <summary>True for a refused record: it changed nothing.</summary>
    public bool Refused => Outcome.StartsWith("refused-", StringComparison.Ordinal);
}

/// <summary>Values of <see cref="LateReceive.Outcome"/>, the <c>outcome</c> tag of <c>safehaven.planner.late.receives</c>.</summary>
public static class LateReceiveOutcomes
{
    /// <summary>A sealed late success: the host was free (or its group's), and is held for the arrived workload again.</summary>
    public const string Held = "held";
    /// <summary>A sealed late success on a host another group holds now: recorded as a conflict, nobody evicted.</summary>
    public const string Conflict = "conflict";
    /// <summary>The other group left a host in conflict: the arrived workload holds it now.</summary>
    public const string Resolved = "resolved";
    /// <summary>A sealed late failure or rejection: the move never landed, the remembered booking is forgotten.</summary>
    public const string Settled = "settled";
    /// <summary>The arrived workload's id went away on the target host: its remembered booking or conflict ends.</summary>
    public const string Gone = "gone";
    /// <summary>More than <see cref="PlacementBook.MaxGivenBack"/> bookings remembered: the oldest is forgotten.</summary>
    public const string Dropped = "dropped";
    /// <summary>No live or remembered booking of that receive here (never booked here, or already settled).</summary>
    public const string RefusedUnknown = "refused-unknown";
    /// <summary>The receive's answer was already applied (held, or recorded as a conflict).</summary>
    public const string RefusedDuplicate = "refused-duplicate";
    /// <summary>Results are not sealed here (no actuator key trusted): a booking given back is restored only on a seal.</summary>
    public const string RefusedUnsealed = "refused-unsealed";
    /// <summary>Sealed by another key than the booked agent's (another agent of this datacenter, or of another).</summary>
    public const string RefusedSealer = "refused-sealer";
    /// <summary>Names another agent, entity or level than the booking.</summary>
    public const string RefusedMismatch = "refused-mismatch";
}
