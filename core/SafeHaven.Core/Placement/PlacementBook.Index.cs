using SafeHaven.Schemas;

namespace SafeHaven.Core.Placement;

// Indexes over the ledger, kept in step by Apply (every change goes through it) and Upsert. Without them each decision
// scanned every held slot and actuator: at 10,000 hosts and a few thousand slots the planner halved its rate and
// allocated ≈870 KB per decision (docs/PERFORMANCE.md, "other hops").
public sealed partial class PlacementBook
{
    // entity -> keys of the held slots it is a member of.
    private readonly Dictionary<string, HashSet<string>> _slotsOfEntity = new(StringComparer.Ordinal);

    // outstanding command -> key of the held slot of its member.
    private readonly Dictionary<string, string> _slotOfCommand = new(StringComparer.Ordinal);

    // detection -> members (held or waiting) it placed.
    private readonly Dictionary<string, int> _detections = new(StringComparer.Ordinal);

    private readonly Dictionary<(string Datacenter, string Host), List<ActuatorInfo>> _actuatorsOnHost = [];

    /// <summary>
    /// The suspect group a VM or container (or a process in one) that moved host keeps under its new id: the group of a
    /// slot it is a member of, where that differs from the group its new id alone gives (which names the host it moved
    /// to, not the one its group was formed on). Null when it holds no such slot. Read from the ledger, not the
    /// inventory, so a planner that rebuilt the ledger knows it too (docs/LEDGER.md, "Moved members").
    /// </summary>
    public string? MovedGroupOf(string entityId)
    {
        if (!_slotsOfEntity.TryGetValue(entityId, out var keys))
        {
            return null;
        }
        foreach (var key in keys.Order(StringComparer.Ordinal))
        {
            var slot = _slots[key];
            foreach (var m in slot.members)
            {
                // Only a container or VM has a group its id decides alone (SuspectGroups); a bare process's comes from the inventory.
                if (m.entityId == entityId && (m.entity.container ?? m.entity.vm) is not null && slot.group is { } group
                    && group != SuspectGroups.Of(m.entity, entityId, null, null))
                {
                    return group;
                }
            }
        }
        return null;
    }

    private void Index(SlotRecord record, bool held)
    {
        foreach (var m in record.members)
        {
            if (m.detectionId is { } d)
            {
                _detections[d] = _detections.GetValueOrDefault(d) + 1;
            }
            if (!held)
            {
                continue;
            }
            if (!_slotsOfEntity.TryGetValue(m.entityId, out var keys))
            {
                _slotsOfEntity[m.entityId] = keys = new HashSet<string>(StringComparer.Ordinal);
            }
            keys.Add(record.slot);
            if (m.commandId is { } c)
            {
                _slotOfCommand[c] = record.slot;
            }
        }
    }

    private void Unindex(SlotRecord record, bool held)
    {
        foreach (var m in record.members)
        {
            if (m.detectionId is { } d && _detections.TryGetValue(d, out var n))
            {
                if (n <= 1)
                {
                    _detections.Remove(d);
                }
                else
                {
                    _detections[d] = n - 1;
                }
            }
            if (!held)
            {
                continue;
            }
            if (_slotsOfEntity.TryGetValue(m.entityId, out var keys) && keys.Remove(record.slot) && keys.Count == 0)
            {
                _slotsOfEntity.Remove(m.entityId);
            }
            // Only if it still points here: a command id is never reused across slots, but a record must not unindex another's.
            if (m.commandId is { } c && _slotOfCommand.TryGetValue(c, out var at) && at == record.slot)
            {
                _slotOfCommand.Remove(c);
            }
        }
    }

    private void IndexActuator(ActuatorInfo a)
    {
        if (!_actuatorsOnHost.TryGetValue((a.Datacenter, a.Host), out var list))
        {
            _actuatorsOnHost[(a.Datacenter, a.Host)] = list = [];
        }
        list.Add(a);
    }

    private void UnindexActuator(ActuatorInfo a)
    {
        if (_actuatorsOnHost.TryGetValue((a.Datacenter, a.Host), out var list))
        {
            list.Remove(a);
            if (list.Count == 0)
            {
                _actuatorsOnHost.Remove((a.Datacenter, a.Host));
            }
        }
    }
}
