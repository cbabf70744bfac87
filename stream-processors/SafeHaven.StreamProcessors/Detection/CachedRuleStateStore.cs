using SafeHaven.Core.Detector;
using Streamiz.Kafka.Net.State;

namespace SafeHaven.StreamProcessors.Detection;

/// <summary>
/// The task's rule-state store behind a read-through cache of cells (<see cref="RuleStateSlot"/>). The
/// transformer is the only writer of its store, so the cache never goes stale; it also remembers "no state"
/// (the common case for a quiet entity), which spares the Streamiz store's key serialisation and lookup on
/// every sample, and the engine keeps each known entity's cells, which spares the cache lookup too. Writes go
/// through at once (changelogged), and only when the state changed (the engine's rule).
/// </summary>
internal sealed class CachedRuleStateStore(IKeyValueStore<string, byte[]> store) : IRuleStateSlots
{
    // Bound memory when entities come and go (pids); clearing only costs re-reads.
    private const int MaxCached = 1_000_000;

    private readonly Dictionary<string, RuleStateSlot> _cache = new(StringComparer.Ordinal);

    /// <summary>States written to the underlying store.</summary>
    public long Writes { get; private set; }

    public RuleState? Find(string key) => Slot(key).State;

    public void Put(string key, RuleState state)
    {
        store.Put(key, state.ToBytes());
        Writes++;
        Slot(key).State = state;
    }

    public void Delete(string key)
    {
        store.Delete(key);
        Slot(key).State = null;
    }

    public RuleStateSlot Slot(string key)
    {
        if (_cache.TryGetValue(key, out var slot))
        {
            return slot;
        }
        if (_cache.Count >= MaxCached)
        {
            // Holders of the old cells (the decoder's known entities) ask for new ones.
            foreach (var old in _cache.Values)
            {
                old.Detached = true;
            }
            _cache.Clear();
        }
        slot = new RuleStateSlot { State = store.Get(key) is { } b ? RuleState.FromBytes(b) : null };
        _cache[key] = slot;
        return slot;
    }
}
