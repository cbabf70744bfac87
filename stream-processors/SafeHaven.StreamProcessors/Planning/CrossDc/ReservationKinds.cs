using SafeHaven.Schemas;

namespace SafeHaven.StreamProcessors.Planning.CrossDc;

/// <summary>Values of <see cref="SlotReservation.kind"/>.</summary>
public static class ReservationKinds
{
    /// <summary>A source planner asks for a slot.</summary>
    public const string Request = "request";

    /// <summary>The target planner booked one.</summary>
    public const string Granted = "granted";

    /// <summary>The target planner refused.</summary>
    public const string Refused = "refused";
}
