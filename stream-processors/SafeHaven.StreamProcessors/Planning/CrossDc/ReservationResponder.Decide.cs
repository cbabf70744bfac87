using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.StreamProcessors.Planning.CrossDc;

// What a request is answered: granted only under the requester's live lease, for its own entity, with room here.
public sealed partial class ReservationResponder
{
    private CrossDcGrant? Decide(SlotReservation r, out string reason)
    {
        if (Malformed(r) is { } malformed)
        {
            reason = malformed;
            return null;
        }
        if (r.entity?.datacenter != r.datacenter)
        {
            reason = $"entity {r.entityId} lives in datacenter {r.entity?.datacenter}, not in the requester's {r.datacenter}";
            return null;
        }
        if (!_leases.CatchUp(TimeSpan.FromSeconds(5)))
        {
            reason = "the action leases could not be read up to date";
            return null;
        }
        if (!_leases.Read(b => b.Holds(r.entityId, r.datacenter, r.planner, r.leaseEpoch)))
        {
            reason = $"planner {r.planner} of {r.datacenter} holds no live action lease of epoch {r.leaseEpoch} on {r.entityId}";
            return null;
        }
        // The booking lasts as long as the lease the log says, not as long as the request says.
        r.expiresAtNs = _leases.Read(b => b.Live(r.entityId)?.expiresAtNs) ?? r.expiresAtNs;
        return _slots.Reserve(r, out reason);
    }

    // Every id that reaches the ledger, a command or a log line: valid, and the entity id the entity's own.
    private static string? Malformed(SlotReservation r)
    {
        try
        {
            if (r.entity is null || SafeHaven.Core.EntityIds.Of(r.entity) != r.entityId)
            {
                return "the entity id is not the entity's";
            }
        }
        catch (ArgumentException e)
        {
            return "invalid entity: " + e.Message;
        }
        return !SafeHaven.Core.Identifiers.IsId(r.requestId) || !SafeHaven.Core.Identifiers.IsId(r.detectionId) || !SafeHaven.Core.Identifiers.IsToken(r.planner)
            || r.level is not (SafeHaven.Core.Levels.Container or SafeHaven.Core.Levels.Vm) || (r.group is { } g && !SafeHaven.Core.Identifiers.IsId(g.Replace('/', ':')))
            ? "a malformed request (ids, level or group)"
            : null;
    }

    private SlotReservation Answer(SlotReservation r, CrossDcGrant? grant, string reason) => new()
    {
        requestId = r.requestId, kind = grant is null ? ReservationKinds.Refused : ReservationKinds.Granted, entity = r.entity,
        entityId = r.entityId, detectionId = r.detectionId ?? "", level = r.level, scope = r.scope, group = r.group, datacenter = _me.Datacenter, cluster = _me.Cluster,
        planner = _me.Planner, leaseEpoch = r.leaseEpoch, slot = grant?.Slot, actuator = grant?.Actuator, target = grant?.Target,
        reason = reason, writtenAtNs = _time.NowNs(), expiresAtNs = r.expiresAtNs,
    };
}
