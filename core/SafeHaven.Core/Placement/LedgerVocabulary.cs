namespace SafeHaven.Core.Placement;

/// <summary>Values of <c>SlotRecord.event</c>.</summary>
public static class LedgerEvents
{
    /// <summary>A group took a free slot.</summary>
    public const string Reserve = "reserve";
    /// <summary>Another member of the holding group joined the slot.</summary>
    public const string Join = "join";
    /// <summary>A member's isolate command succeeded.</summary>
    public const string Hold = "hold";
    /// <summary>A release command went out for a member.</summary>
    public const string Release = "release";
    /// <summary>A member left (command failed, released, or the entity exited).</summary>
    public const string Leave = "leave";
    /// <summary>A member's command passed its deadline and grace with no result.</summary>
    public const string Expire = "expire";
    /// <summary>The last member left: the slot is free.</summary>
    public const string Free = "free";
    /// <summary>A detection no level could place waits in the ledger for a slot or an actuator.</summary>
    public const string Wait = "wait";
    /// <summary>
    /// Another datacenter's workload arrived late (its receive's success came after its booking was given back) on a host
    /// another group holds now: recorded, nobody evicted (docs/LEDGER.md, "Late receives").
    /// </summary>
    public const string Conflict = "conflict";
}

/// <summary>Values of <c>SlotMember.status</c>.</summary>
public static class MemberStatus
{
    /// <summary>The isolate command went out; no result yet.</summary>
    public const string Pending = "pending";
    /// <summary>The entity is isolated in the slot.</summary>
    public const string Held = "held";
    /// <summary>The release command went out; no result yet.</summary>
    public const string Releasing = "releasing";
    /// <summary>Detected, but no level could place the entity yet: planned again when the inventory changes or a slot is freed.</summary>
    public const string Waiting = "waiting";
    /// <summary>
    /// A VM or container whose move (a detection's or a schedule's) is outstanding went away from its host (most likely by that very move):
    /// it keeps the move's target slot until the move's result or expiry settles where it is (docs/LEDGER.md).
    /// </summary>
    public const string Leaving = "leaving";
}
