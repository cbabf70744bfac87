using SafeHaven.Core.Detector;
using Streamiz.Kafka.Net.State;

namespace SafeHaven.StreamProcessors.Detection;

/// <summary>
/// The task's rule-state store behind a read-through cache. The transformer is the only writer
/// of its store, so the cache never goes stale; it also remembers "no state" (the common case
/// for a quiet entity), which spares the Streamiz store's key serialisation and lookup on every
/// sample. Writes go through at once (changelogged), and only when the state changed (the engine's rule).
/// </summary>
internal sealed class CachedRuleStateStore(IKeyValueStore<string, byte[]> store) : IRuleStateStore
{
    // Bound memory when entities come and go (pids); clearing only costs re-reads.
    private const int MaxCached = 1_000_000;

    private readonly Dictionary<string, RuleState?> _cache = new(StringComparer.Ordinal);

    /// <summary>States written to the underlying store.</summary>
    public long Writes { get; private set; }

    public RuleState? Find(string key)
    {
        if (_cache.TryGetValue(key, out var cached))
        {
            return cached;
        }
        var state = store.Get(key) is { } b ? RuleState.FromBytes(b) : (RuleState?)null;
        Remember(key, state);
        return state;
    }

    public void Put(string key, RuleState state)
    {
        store.Put(key, state.ToBytes());
        Writes++;
        Remember(key, state);
    }

    public void Delete(string key)
    {
        store.Delete(key);
        Remember(key, null);
    }

    private void Remember(string key, RuleState? state)
    {
        if (_cache.Count >= MaxCached)
        {
            _cache.Clear();
        }
        _cache[key] = state;
    }
}
