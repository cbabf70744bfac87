using System.Runtime.CompilerServices;
using SafeHaven.Core.Rules;

namespace SafeHaven.Core.Detector;

/// <summary>
/// An entity's id, its rule-state keys and the store's cells for them, built once and reused for every later
/// sample of the entity: a quiet sample then costs no string building and no key lookup.
/// Not thread-safe: owned by one decoder (one stream task).
/// </summary>
/// <param name="entityId">A valid entity id (<see cref="EntityIds"/>).</param>
public sealed class EntityKeys(string entityId)
{
    private RuleSet? _rules;
    private string?[] _stateKeys = [];
    private IRuleStateSlots? _slotStore;
    private RuleStateSlot?[] _slots = [];

    /// <summary>The entity id.</summary>
    public string EntityId { get; } = entityId ?? throw new ArgumentNullException(nameof(entityId));

    /// <summary>The state key for rule <paramref name="index"/>; rebuilt when the rules were replaced.</summary>
    internal string StateKey(RuleSet rules, int index)
    {
        Follow(rules);
        return _stateKeys[index] ??= DetectorEngine.StateKey(EntityId, rules.Rules[index].Name);
    }

    /// <summary>
    /// The cell of rule <paramref name="index"/>'s state in <paramref name="store"/>: asked of the store once, then
    /// kept until the rules or the store change or the store detaches it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal RuleStateSlot Slot(IRuleStateSlots store, RuleSet rules, int index)
    {
        // Every sample of a known entity after its first: inlined into the engine's loop.
        var slots = _slots;
        return ReferenceEquals(rules, _rules) && ReferenceEquals(store, _slotStore) && (uint)index < (uint)slots.Length
            && slots[index] is { Detached: false } slot
            ? slot
            : SlotSlow(store, rules, index);
    }

    private RuleStateSlot SlotSlow(IRuleStateSlots store, RuleSet rules, int index)
    {
        Follow(rules);
        if (!ReferenceEquals(store, _slotStore))
        {
            (_slotStore, _slots) = (store, new RuleStateSlot?[rules.Rules.Count]);
        }
        var slot = _slots[index];
        if (slot is null || slot.Detached)
        {
            _slots[index] = slot = store.Slot(StateKey(rules, index));
        }
        return slot;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Follow(RuleSet rules)
    {
        if (!ReferenceEquals(rules, _rules))
        {
            (_rules, _stateKeys, _slots) = (rules, new string?[rules.Rules.Count], new RuleStateSlot?[rules.Rules.Count]);
        }
    }
}
