namespace SafeHaven.Core.Placement;

/// <summary>
/// Limits on how often the planner may move things, so a compromised probe or detector can make SafeHaven move a
/// victim at most this often. Zero disables a limit.
/// </summary>
/// <param name="PerHostPerMinute">Isolation commands per source host per minute. Default 30.</param>
/// <param name="PerEntityPerHour">Isolation commands per entity per hour. Default 6.</param>
/// <param name="PerDatacenterPerMinute">Isolation commands per datacenter per minute. Default 300.</param>
public sealed record MoveBudgets(int PerHostPerMinute = 30, int PerEntityPerHour = 6, int PerDatacenterPerMinute = 300)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first negative limit.</summary>
    public void Validate()
    {
        foreach (var (name, value) in new[] { ("per host per minute", PerHostPerMinute), ("per entity per hour", PerEntityPerHour),
                     ("per datacenter per minute", PerDatacenterPerMinute) })
        {
            if (value < 0)
            {
                throw new ArgumentException($"move budget {name} must not be negative, got {value}");
            }
        }
    }
}

/// <summary>Sliding windows of the moves issued, per host, entity and datacenter. Pure: times are passed in.</summary>
public sealed class MoveBudget(MoveBudgets limits)
{
    private static readonly long MinuteNs = 60_000_000_000;
    private static readonly long HourNs = 60 * MinuteNs;
    private readonly Dictionary<string, Queue<long>> _windows = new(StringComparer.Ordinal);

    /// <summary>The budget a move of <paramref name="entityId"/> on <paramref name="datacenter"/>/<paramref name="host"/> would exceed at <paramref name="nowNs"/>, or null.</summary>
    public string? Exceeded(string datacenter, string host, string entityId, long nowNs)
    {
        if (Over("host:" + datacenter + "/" + host, limits.PerHostPerMinute, MinuteNs, nowNs))
        {
            return $"budget of {limits.PerHostPerMinute} moves per host per minute spent on {datacenter}/{host}";
        }
        if (Over("entity:" + entityId, limits.PerEntityPerHour, HourNs, nowNs))
        {
            return $"budget of {limits.PerEntityPerHour} moves per entity per hour spent on {entityId}";
        }
        if (Over("dc:" + datacenter, limits.PerDatacenterPerMinute, MinuteNs, nowNs))
        {
            return $"budget of {limits.PerDatacenterPerMinute} moves per datacenter per minute spent in {datacenter}";
        }
        return null;
    }

    /// <summary>
    /// The host or datacenter budget a moving-target move would exceed when such moves may spend only
    /// <paramref name="share"/> of each limit, or null. The per-entity budget is the schedule's own period.
    /// </summary>
    public string? ExceededShared(string datacenter, string host, long nowNs, double share)
    {
        var perHost = (int)(limits.PerHostPerMinute * share);
        var perDc = (int)(limits.PerDatacenterPerMinute * share);
        if (limits.PerHostPerMinute > 0 && Over("host:" + datacenter + "/" + host, Math.Max(1, perHost), MinuteNs, nowNs))
        {
            return $"budget of {limits.PerHostPerMinute} moves per host per minute spent on {datacenter}/{host}";
        }
        if (limits.PerDatacenterPerMinute > 0 && Over("dc:" + datacenter, Math.Max(1, perDc), MinuteNs, nowNs))
        {
            return $"budget of {limits.PerDatacenterPerMinute} moves per datacenter per minute spent in {datacenter}";
        }
        return null;
    }

    /// <summary>Counts a moving-target move against the host and datacenter windows (not the entity's).</summary>
    public void SpendShared(string datacenter, string host, long atNs)
    {
        foreach (var key in new[] { "host:" + datacenter + "/" + host, "dc:" + datacenter })
        {
            if (!_windows.TryGetValue(key, out var q))
            {
                _windows[key] = q = new Queue<long>();
            }
            q.Enqueue(atNs);
        }
    }

    /// <summary>Counts a move issued at <paramref name="atNs"/> against every window it belongs to.</summary>
    public void Spend(string datacenter, string host, string entityId, long atNs)
    {
        foreach (var key in new[] { "host:" + datacenter + "/" + host, "entity:" + entityId, "dc:" + datacenter })
        {
            if (!_windows.TryGetValue(key, out var q))
            {
                _windows[key] = q = new Queue<long>();
            }
            q.Enqueue(atNs);
        }
    }

    private bool Over(string key, int limit, long windowNs, long nowNs)
    {
        if (limit == 0 || !_windows.TryGetValue(key, out var q))
        {
            return false;
        }
        while (q.Count > 0 && q.Peek() <= nowNs - windowNs)
        {
            q.Dequeue();
        }
        if (q.Count == 0)
        {
            _windows.Remove(key);
        }
        return q.Count >= limit;
    }
}
