using SafeHaven.Schemas;

namespace SafeHaven.StreamProcessors.Planning.CrossDc;

/// <summary>
/// A move out of the source datacenter: the entity, where it is, and how long the lease and commands may take;
/// <paramref name="Grace"/> is how long a result may still take after its command's deadline (the planner's expiry grace,
/// 5 s when null), after which a timed-out move is settled.
/// </summary>
public sealed record CrossDcMove(EntityRef Entity, string EntityId, string Level, string Scope, string? Group, string SourceActuator,
    string DetectionId, TimeSpan Lease, TimeSpan CommandTtl, bool DryRun, TimeSpan? Grace = null);

/// <summary>Values of <see cref="CrossDcOutcome.Status"/>.</summary>
public static class CrossDcStatus
{
    /// <summary>Another planner holds the entity's action lease (or the lease record lost).</summary>
    public const string LeasedElsewhere = "leased-elsewhere";

    /// <summary>The target's planner refused the reservation (no room, no lease, another datacenter's entity).</summary>
    public const string Refused = "refused";

    /// <summary>The lease ran too short before the commands could go out.</summary>
    public const string LeaseLost = "lease-lost";

    /// <summary>Both agents succeeded.</summary>
    public const string Succeeded = "succeeded";

    /// <summary>An agent failed or rejected its command.</summary>
    public const string Failed = "failed";

    /// <summary>No result from an agent before the commands' deadline.</summary>
    public const string TimedOut = "timed-out";

    /// <summary>
    /// The move could not run to its end: a cluster unreachable, or the planner stopping. After a command went out it is
    /// watched like a timed-out move (<see cref="CrossDcOutcome.Late"/> set) and its lease is not given up while the commands can run.
    /// </summary>
    public const string Error = "error";
}

/// <summary>How a cross-datacenter move ended.</summary>
/// <param name="Status">leased-elsewhere, refused, lease-lost, succeeded, failed, timed-out or error.</param>
/// <param name="Reason">Why, in words.</param>
/// <param name="Epoch">The lease epoch the move ran under (0 when no lease was won).</param>
/// <param name="Grant">The slot the target booked, when it did.</param>
/// <param name="Isolate">The source agent's result.</param>
/// <param name="Receive">The target agent's result.</param>
/// <param name="SettledAtNs">
/// Timed out, or ended in an error, after its commands went out: the instant after which neither command can run any more
/// (<see cref="SafeHaven.Core.CrossDc.MoveOutBackoff.SettledAtNs"/>); 0 otherwise.
/// </param>
/// <param name="Late">
/// Timed out, or ended in an error, after its commands went out: the results still watched until <paramref name="SettledAtNs"/>, under the
/// lease (released once this ends): the late outcome (succeeded or failed, both results in), or null when none came
/// (or the planner stopped). Never faults. Null otherwise.
/// </param>
public sealed record CrossDcOutcome(string Status, string Reason, long Epoch = 0, CrossDcGrant? Grant = null,
    IsolationResult? Isolate = null, IsolationResult? Receive = null, long SettledAtNs = 0, Task<CrossDcOutcome?>? Late = null);
