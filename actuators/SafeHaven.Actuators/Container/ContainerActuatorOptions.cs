using SafeHaven.Core;

namespace SafeHaven.Actuators.Container;

/// <summary>
/// Configuration of the container agent (section <c>SafeHaven:Container</c>). Each agent keeps its containers in a
/// state directory (<see cref="ContainerSite"/>); <see cref="Agents"/> maps each container agent id to its
/// directory, which is how agents on one machine meet during a move.
/// </summary>
public sealed class ContainerActuatorOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "SafeHaven:Container";

    /// <summary>This agent's id: commands addressed to another agent are foreign.</summary>
    public string Id { get; set; } = Environment.MachineName;

    /// <summary>Agent id → state directory of that agent (absolute, normalised). Must contain <see cref="Id"/>.</summary>
    public Dictionary<string, string> Agents { get; init; } = new(StringComparer.Ordinal);

    /// <summary>How criu runs, page mode and limits.</summary>
    public CriuOptions Criu { get; set; } = new();

    /// <summary>The state directory of <paramref name="agentId"/>, or null when the agent is unknown.</summary>
    public ContainerSite? SiteOf(string? agentId) =>
        agentId is not null && Agents.TryGetValue(agentId, out var dir) ? new ContainerSite(agentId, dir) : null;

    /// <summary>Throws unless the id, every agent entry and the criu settings are valid.</summary>
    /// <exception cref="ArgumentException">Names the entry and the problem.</exception>
    public void Validate()
    {
        Identifiers.RequireToken(Id, $"{SectionName}:{nameof(Id)}");
        foreach (var (agent, dir) in Agents)
        {
            Identifiers.RequireToken(agent, $"{SectionName}:{nameof(Agents)}");
            _ = new ContainerSite(agent, dir);
        }
        if (!Agents.ContainsKey(Id))
        {
            throw new ArgumentException($"{SectionName}:{nameof(Agents)} has no directory for this agent '{Id}'");
        }
        ArgumentNullException.ThrowIfNull(Criu, $"{SectionName}:{nameof(Criu)}");
        Criu.Validate();
    }
}
