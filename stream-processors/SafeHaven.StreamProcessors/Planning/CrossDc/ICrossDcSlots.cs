using SafeHaven.Schemas;

namespace SafeHaven.StreamProcessors.Planning.CrossDc;

/// <summary>A slot the target datacenter's ledger booked for a cross-datacenter move.</summary>
/// <param name="Slot">The slot id in the target's ledger.</param>
/// <param name="Actuator">The target agent that receives the entity.</param>
/// <param name="Target">The target host or hypervisor id the commands name.</param>
public sealed record CrossDcGrant(string Slot, string Actuator, string Target);

/// <summary>
/// The target planner's ledger as the reservation protocol needs it: it books (or refuses) a slot for a request that
/// holds the entity's live lease. Only the target's own planner implements it, so each ledger keeps one writer.
/// </summary>
public interface ICrossDcSlots
{
    /// <summary>Books a slot for <paramref name="request"/>, or returns null with <paramref name="reason"/> saying why not.</summary>
    CrossDcGrant? Reserve(SlotReservation request, out string reason);
}
