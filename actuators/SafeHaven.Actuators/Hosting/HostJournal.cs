using SafeHaven.Actuators.Agent;

namespace SafeHaven.Actuators.Hosting;

/// <summary>The host agent's command journal as a service of its own, so the container closes it on shutdown.</summary>
/// <param name="Journal">The journal, or null when commands are remembered in memory only.</param>
internal sealed record HostJournal(CommandJournal? Journal) : IDisposable
{
    /// <summary>Closes the journal.</summary>
    public void Dispose() => Journal?.Dispose();
}
