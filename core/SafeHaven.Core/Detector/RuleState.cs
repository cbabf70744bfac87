using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace SafeHaven.Core.Detector;

/// <summary>
/// Per entity and rule memory of the detector: how many samples in a row were above ε, when
/// that run started, whether the entity is hot and until when it cools down. Everything is in
/// sample time (ns), never wall clock, so replays reproduce detections exactly.
/// </summary>
/// <param name="Above">Consecutive above-threshold samples.</param>
/// <param name="RunStartNs">Window start of the first sample of the current above-threshold run.</param>
/// <param name="Hot">Fired and not yet below the rule's clear bound.</param>
/// <param name="CooldownUntilNs">No new detection before this sample time.</param>
/// <param name="Armed">The rule fired and no quiet signal (release) followed yet.</param>
/// <param name="QuietSinceNs">While armed: window start of the first of the samples in a row below the clear bound; 0 when none.</param>
public readonly record struct RuleState(int Above, long RunStartNs, bool Hot, long CooldownUntilNs, bool Armed = false, long QuietSinceNs = 0)
{
    /// <summary>Size of <see cref="ToBytes"/>.</summary>
    public const int Size = 30;

    // Field by field, inlined: the engine compares every sample's next state with the last (the generated
    // equality goes through EqualityComparer per field).
    /// <summary>True when every field is equal.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Equals(RuleState other) =>
        Above == other.Above && RunStartNs == other.RunStartNs && Hot == other.Hot && CooldownUntilNs == other.CooldownUntilNs
        && Armed == other.Armed && QuietSinceNs == other.QuietSinceNs;

    /// <summary>True for the state of an entity never above ε (every field zero, as <c>default</c>).</summary>
    public bool IsInitial
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Above == 0 && RunStartNs == 0 && !Hot && CooldownUntilNs == 0 && !Armed && QuietSinceNs == 0;
    }

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Above, RunStartNs, Hot, CooldownUntilNs, Armed, QuietSinceNs);

    // States written before the release rule existed: no Armed / QuietSinceNs.
    private const int SizeV1 = 21;

    /// <summary>Fixed-size binary form, for state stores and changelogs.</summary>
    public byte[] ToBytes()
    {
        var b = new byte[Size];
        BinaryPrimitives.WriteInt32LittleEndian(b, Above);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(4), RunStartNs);
        b[12] = Hot ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(13), CooldownUntilNs);
        b[21] = Armed ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(22), QuietSinceNs);
        return b;
    }

    /// <summary>Reads <see cref="ToBytes"/> output.</summary>
    /// <exception cref="FormatException">Wrong length.</exception>
    public static RuleState FromBytes(ReadOnlySpan<byte> b) => b.Length is Size or SizeV1
        ? new(BinaryPrimitives.ReadInt32LittleEndian(b), BinaryPrimitives.ReadInt64LittleEndian(b[4..]), b[12] != 0,
            BinaryPrimitives.ReadInt64LittleEndian(b[13..]),
            b.Length == Size && b[21] != 0, b.Length == Size ? BinaryPrimitives.ReadInt64LittleEndian(b[22..]) : 0)
        : throw new FormatException($"rule state must be {Size} (or {SizeV1}) bytes, got {b.Length}");
}

/// <summary>Where the detector keeps <see cref="RuleState"/>s (a Streamiz store, or a dictionary in tests).</summary>
public interface IRuleStateStore
{
    /// <summary>State for <paramref name="key"/>, or null when none.</summary>
    RuleState? Find(string key);

    /// <summary>Stores state for <paramref name="key"/>.</summary>
    void Put(string key, RuleState state);

    /// <summary>Forgets <paramref name="key"/> (state back to initial).</summary>
    void Delete(string key);
}

/// <summary>A <see cref="IRuleStateStore"/> in a dictionary: for one process and for tests.</summary>
public sealed class InMemoryRuleStateStore : IRuleStateSlots
{
    private readonly Dictionary<string, RuleStateSlot> _slots = new(StringComparer.Ordinal);

    /// <summary>Number of stored states.</summary>
    public int Count => _slots.Values.Count(s => s.State is not null);

    /// <inheritdoc/>
    public RuleState? Find(string key) => _slots.TryGetValue(key, out var s) ? s.State : null;

    /// <inheritdoc/>
    public void Put(string key, RuleState state) => Slot(key).State = state;

    /// <inheritdoc/>
    public void Delete(string key)
    {
        if (_slots.TryGetValue(key, out var s))
        {
            s.State = null;
        }
    }

    /// <inheritdoc/>
    public RuleStateSlot Slot(string key)
    {
        if (!_slots.TryGetValue(key, out var slot))
        {
            _slots[key] = slot = new RuleStateSlot();
        }
        return slot;
    }
}
