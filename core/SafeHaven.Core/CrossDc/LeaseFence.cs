using SafeHaven.Schemas;

namespace SafeHaven.Core.CrossDc;

/// <summary>
/// An agent's side of the fencing token (docs/SCALING.md §4): the highest action-lease epoch it has admitted per entity;
/// a signed command naming a lower epoch comes from a lease that has since passed to another holder, and is refused.
/// In memory and bounded (oldest entity forgotten first): across a restart the commands' deadlines, which end inside
/// their lease, still keep a stale command from running.
/// </summary>
public sealed class LeaseFence(int capacity = 10_000)
{
    private readonly Dictionary<string, long> _highest = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();

    /// <summary>Null when <paramref name="command"/> may run (no epoch: a move within one datacenter); otherwise why not. Call it only for authentic commands.</summary>
    public string? Admit(IsolationCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (command.leaseEpoch is not { } epoch)
        {
            return null;
        }
        var e = command.entity ?? new EntityRef();
        // A plain composite key: nothing here reaches a path or a process, and the entity was bounded before.
        var entity = string.Join('\u001f', e.datacenter, e.host, e.vm, e.container, e.pid);
        if (_highest.TryGetValue(entity, out var highest))
        {
            if (epoch < highest)
            {
                return $"lease epoch {epoch} is below epoch {highest}, already admitted for this entity: the lease has passed on";
            }
        }
        else
        {
            _order.Enqueue(entity);
            if (_order.Count > capacity)
            {
                _highest.Remove(_order.Dequeue());
            }
        }
        _highest[entity] = epoch;
        return null;
    }
}
