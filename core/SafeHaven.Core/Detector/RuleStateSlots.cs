namespace SafeHaven.Core.Detector;

/// <summary>
/// A store's cell for one state key. A caller that evaluates the same entity sample after sample keeps the
/// cell and reads it without a key lookup; the store updates the same cell on every write, whoever writes.
/// </summary>
public sealed class RuleStateSlot
{
    /// <summary>The key's state, or null when none.</summary>
    public RuleState? State { get; set; }

    /// <summary>Set by the store when it drops the cell (e.g. to bound memory): holders must ask it for a new one.</summary>
    public bool Detached { get; set; }
}

/// <summary>
/// A <see cref="IRuleStateStore"/> that hands out <see cref="RuleStateSlot"/>s: every write to a key, through
/// <see cref="IRuleStateStore.Put"/> or <see cref="IRuleStateStore.Delete"/>, lands in the key's cell while the cell is attached.
/// </summary>
public interface IRuleStateSlots : IRuleStateStore
{
    /// <summary>The cell of <paramref name="key"/> (created, with the stored state, on first use).</summary>
    RuleStateSlot Slot(string key);
}
