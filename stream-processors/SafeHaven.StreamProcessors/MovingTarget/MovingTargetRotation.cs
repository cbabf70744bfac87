using SafeHaven.Core;

namespace SafeHaven.StreamProcessors.MovingTarget;

/// <summary>
/// Where moving-target entities go next. Pure and deterministic: the same pool and positions
/// always give the same targets, so a run can be reproduced and reasoned about.
/// </summary>
public static class MovingTargetRotation
{
    /// <summary>
    /// The CPU after <paramref name="last"/> in <paramref name="pool"/>, in ascending order and
    /// wrapping around; the pool's first CPU when there is no last target.
    /// </summary>
    /// <exception cref="ArgumentException">The pool is empty.</exception>
    public static int Next(CpuList pool, int? last)
    {
        ArgumentNullException.ThrowIfNull(pool);
        if (pool.IsEmpty)
        {
            throw new ArgumentException("the isolation pool is empty", nameof(pool));
        }
        var sorted = pool.Cpus.Order().ToArray();
        if (last is not { } l)
        {
            return sorted[0];
        }
        foreach (var cpu in sorted)
        {
            if (cpu > l)
            {
                return cpu;
            }
        }
        return sorted[0];
    }

    /// <summary>
    /// Next targets of several entities sharing one pool: each moves to the pool's next CPU.
    /// The successor is a permutation of the pool, so distinct positions stay distinct. When a
    /// position is unknown, outside the pool (it changed) or shared, every entity starts afresh
    /// on the pool's first CPUs.
    /// </summary>
    /// <returns>Targets by entity index; null when the pool has no spare CPU to rotate through.</returns>
    public static IReadOnlyList<int>? NextRound(CpuList pool, IReadOnlyList<int?> last)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentNullException.ThrowIfNull(last);
        // Each move needs a free CPU to land on; with none, entities would only swap places.
        if (pool.Count <= last.Count)
        {
            return null;
        }
        var known = last.All(l => l is { } c && pool.Contains(c)) && last.Distinct().Count() == last.Count;
        if (known)
        {
            return [.. last.Select(l => Next(pool, l))];
        }
        return [.. pool.Cpus.Order().Take(last.Count)];
    }

    /// <summary>
    /// Order in which to send the moves so that no entity is sent onto a CPU another one still
    /// holds (the actuator refuses that): an entity goes after the holder of its target.
    /// </summary>
    /// <returns>Entity indexes in sending order.</returns>
    public static IReadOnlyList<int> MoveOrder(IReadOnlyList<int?> last, IReadOnlyList<int> targets)
    {
        ArgumentNullException.ThrowIfNull(last);
        ArgumentNullException.ThrowIfNull(targets);
        var pending = Enumerable.Range(0, targets.Count).ToList();
        var order = new List<int>(targets.Count);
        while (pending.Count > 0)
        {
            var free = pending.FirstOrDefault(i => !pending.Any(j => j != i && last[j] == targets[i]), -1);
            // A cycle of holders cannot happen with a spare CPU; if it does, keep index order.
            free = free < 0 ? pending[0] : free;
            order.Add(free);
            pending.Remove(free);
        }
        return order;
    }
}
