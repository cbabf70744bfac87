using SafeHaven.Core;
using SafeHaven.Core.CrossDc;
using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.StreamProcessors.Planning.CrossDc;

/// <summary>
/// The target datacenter's ledger answering reservations (<see cref="ICrossDcSlots"/>): a host of the requested level
/// with no tenant and no other group, booked in the target planner's own <see cref="PlacementBook"/> under the move's
/// receive command id, with the lease's expiry as its deadline (so the planner's expiry frees it when no result comes).
/// The booking is a ledger record that <paramref name="persist"/> must write before the grant is answered. The book
/// belongs to the planner: every call takes <paramref name="gate"/>, the lock its planner holds while it plans, or, when
/// it is null, must run on the planner's own thread (<c>plan</c> runs it there: the planner is single-threaded).
/// </summary>
public sealed class LedgerSlots(PlacementBook book, object? gate, TimeProvider time, Action<SlotRecord> persist) : ICrossDcSlots
{
    /// <inheritdoc/>
    public CrossDcGrant? Reserve(SlotReservation request, out string reason)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (gate is null)
        {
            return Book(request, out reason);
        }
        lock (gate)
        {
            return Book(request, out reason);
        }
    }

    private CrossDcGrant? Book(SlotReservation request, out string reason)
    {
        if (request.level is not (Levels.Container or Levels.Vm))
        {
            reason = $"level {request.level} does not move between hosts";
            return null;
        }
        // An earlier move of the entity still holds its booking here (its receive may yet run, until its deadline and the
        // grace pass): a second booking would put one entity in two slots, so the request is refused, naming it.
        if (book.MembershipsOf(request.entityId).FirstOrDefault() is ({ } held, { } booked))
        {
            reason = $"{request.entityId} is already booked in slot {held.slot} under {booked.commandId} ({booked.status}) until that booking ends";
            return null;
        }
        var group = request.group ?? request.entityId;
        var refused = new List<string>();
        foreach (var t in book.Actuators.Where(a => a.Levels.Contains(request.level)).OrderBy(a => a.ActuatorId, StringComparer.Ordinal))
        {
            // The arriving entity's tenant is unknown here: any labelled tenant on the host is another tenant.
            if (book.Tenants.OtherTenants(t.Datacenter, t.Host, null) is { Count: > 0 } others)
            {
                refused.Add($"{t.Host} runs tenant {string.Join(", ", others)}");
                continue;
            }
            if (book.ReserveHost(t, request.level, group) is not { } slot)
            {
                refused.Add($"{t.Host} is held for another suspect group");
                continue;
            }
            var member = new SlotMember
            {
                entityId = request.entityId, entity = request.entity, detectionId = request.detectionId, rule = null, scope = request.scope,
                status = MemberStatus.Pending, commandId = CrossDcPolicy.ReceiveId(request.detectionId, request.level, request.leaseEpoch),
                source = t.ActuatorId, target = t.ActuatorId, deadlineNs = request.expiresAtNs, attempts = 1,
            };
            reason = $"{request.level} host {t.Host} of {t.Datacenter} booked in slot {slot.Slot} for {request.datacenter}'s lease epoch {request.leaseEpoch}";
            persist(book.Add(slot, member, reason, time.NowNs()));
            return new CrossDcGrant(slot.Slot, t.ActuatorId, t.ActuatorId);
        }
        reason = $"no free {request.level} host{(refused.Count > 0 ? " (" + string.Join("; ", refused) + ")" : "")}";
        return null;
    }
}
