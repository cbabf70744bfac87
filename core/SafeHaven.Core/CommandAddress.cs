using SafeHaven.Schemas;

namespace SafeHaven.Core;

/// <summary>
/// Who an <see cref="IsolationCommand"/> is addressed to: the agent that must run it. The planner keys the
/// command by it (so it lands in that agent's partition) and the agent's gate refuses a command addressed to
/// anyone else. A <see cref="Actions.Receive"/> goes to the move's <c>target</c>; every other action to its <c>source</c>.
/// </summary>
public static class CommandAddress
{
    /// <summary>The addressed agent's id.</summary>
    public static string Addressee(this IsolationCommand command) => Of(command).Agent;

    /// <summary>The field naming the addressee (<c>target</c> or <c>source</c>) and its value.</summary>
    public static (string Field, string Agent) Of(IsolationCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        return command.action == Actions.Receive ? ("target", command.target) : ("source", command.source);
    }
}
