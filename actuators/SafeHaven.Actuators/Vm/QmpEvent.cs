using System.Text.Json;

namespace SafeHaven.Actuators.Vm;

/// <summary>An asynchronous QMP event (STOP, RESUME, MIGRATION, MIGRATION_PASS, …).</summary>
/// <param name="Name">The event name as QEMU sends it.</param>
/// <param name="Data">The event's <c>data</c> member (an empty object when absent).</param>
/// <param name="ReceivedAt">
/// When the client read it, in <see cref="TimeProvider.GetTimestamp"/> units of the client's clock, so that
/// events of two clients sharing one clock can be subtracted (downtime = destination RESUME − source STOP).
/// </param>
/// <param name="EmittedAtUs">
/// QEMU's own stamp of the event (its <c>timestamp</c> member: host wall clock, microseconds since
/// the epoch), or null when absent. Two QEMU processes on one host share this clock, and it does
/// not depend on when a client got round to reading the socket.
/// </param>
public sealed record QmpEvent(string Name, JsonElement Data, long ReceivedAt, long? EmittedAtUs = null)
{
    /// <summary>True for a <c>MIGRATION</c> event reporting <paramref name="status"/> (e.g. <c>postcopy-active</c>).</summary>
    public bool IsMigration(string status) => Name == "MIGRATION" && DataString("status") == status;

    /// <summary>A string member of <see cref="Data"/>, or null.</summary>
    public string? DataString(string member) =>
        Data.ValueKind == JsonValueKind.Object && Data.TryGetProperty(member, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString() : null;
}

/// <summary>QEMU answered a command with an error, or the QMP connection broke.</summary>
public sealed class QmpException : Exception
{
    /// <summary>Creates the exception.</summary>
    public QmpException() { }

    /// <summary>Creates the exception with a message.</summary>
    public QmpException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public QmpException(string message, Exception inner) : base(message, inner) { }

    /// <summary>QEMU's error class (e.g. <c>GenericError</c>), when QEMU sent one.</summary>
    public string? ErrorClass { get; init; }
}
