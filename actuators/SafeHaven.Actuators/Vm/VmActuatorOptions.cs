using SafeHaven.Core;

namespace SafeHaven.Actuators.Vm;

/// <summary>
/// Configuration of the QMP hypervisor agent (section <c>SafeHaven:Hypervisor</c>). Plain-QEMU guests of an
/// agent live in one directory (<c>NAME.qmp</c>, <c>NAME.serial</c>, <c>NAME.json</c>); <see cref="Agents"/>
/// maps each hypervisor agent id to its directory, which is how agents on one machine reach each other.
/// </summary>
public sealed class VmActuatorOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "SafeHaven:Hypervisor";

    /// <summary>This agent's id: commands whose <c>source</c> differs are foreign.</summary>
    public string Id { get; set; } = Environment.MachineName;

    /// <summary>Agent id → directory of that agent's guests (absolute, without ','). Must contain <see cref="Id"/>.</summary>
    public Dictionary<string, string> Agents { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Mode and limits of each migration.</summary>
    public MigrationOptions Migration { get; set; } = new();

    /// <summary>The directory of <paramref name="agentId"/>'s guests, or null when the agent is unknown.</summary>
    public string? DirectoryOf(string? agentId) => agentId is not null && Agents.TryGetValue(agentId, out var d) ? d : null;

    /// <summary>Throws unless the id and every agent entry are valid.</summary>
    /// <exception cref="ArgumentException">Names the entry and the problem.</exception>
    public void Validate()
    {
        Identifiers.RequireToken(Id, $"{SectionName}:{nameof(Id)}");
        foreach (var (agent, dir) in Agents)
        {
            Identifiers.RequireToken(agent, $"{SectionName}:{nameof(Agents)}");
            QemuPaths.RequireOptionSafePath(dir, $"{SectionName}:{nameof(Agents)}:{agent}");
        }
        if (!Agents.ContainsKey(Id))
        {
            throw new ArgumentException($"{SectionName}:{nameof(Agents)} has no directory for this agent '{Id}'");
        }
    }
}

/// <summary>The destination side of a move: prepares the <c>-incoming defer</c> twin of a guest.</summary>
public interface IVmDestinations
{
    /// <summary>Starts the incoming twin of <paramref name="spec"/> at agent <paramref name="agentId"/>; it then owns the process.</summary>
    QemuGuest PrepareIncoming(string agentId, QemuGuestSpec spec);
}

/// <summary>
/// Destination agents on this very machine: the twin is started in the target agent's directory. Stands in
/// for a request to the remote agent until agents talk over Kafka; owns the QEMU processes it started.
/// </summary>
public sealed class LocalQemuDestinations(VmActuatorOptions options) : IVmDestinations, IDisposable
{
    private readonly List<QemuGuest> _started = [];

    /// <inheritdoc/>
    public QemuGuest PrepareIncoming(string agentId, QemuGuestSpec spec)
    {
        ArgumentNullException.ThrowIfNull(options);
        var dir = options.DirectoryOf(agentId) ?? throw new ArgumentException($"unknown hypervisor agent '{agentId}'", nameof(agentId));
        var guest = QemuGuest.Start(spec, dir, incoming: true);
        lock (_started)
        {
            _started.Add(guest);
        }
        return guest;
    }

    /// <summary>Kills every QEMU this instance started.</summary>
    public void Dispose()
    {
        lock (_started)
        {
            _started.ForEach(g => g.Dispose());
            _started.Clear();
        }
    }
}
