using SafeHaven.Actuators.Vm.Libvirt;
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

    /// <summary>
    /// Kill the guests this agent received when it stops (default false: a tenant's VM outlives a restart of
    /// its agent). The demo and tests set it, so that nothing they started survives them.
    /// </summary>
    public bool StopReceivedGuestsOnDispose { get; set; }

    /// <summary>
    /// How guests are managed: <c>qmp</c> (default; plain QEMU processes started by the agents, driven over their QMP
    /// sockets) or <c>libvirt</c> (guests of a libvirt daemon per agent, see <see cref="Libvirt"/>).
    /// </summary>
    public string Backend { get; set; } = VmBackends.Qmp;

    /// <summary>
    /// Backend <c>libvirt</c>: agent id → URI of the daemon that manages that agent's guests
    /// (<c>qemu:///system</c>, <c>qemu+unix:///system?socket=/PATH</c>, <c>qemu+tls://HOST/system</c>, <c>qemu+ssh://HOST/system</c>).
    /// The guests' serial files still live in <see cref="Agents"/>' directories.
    /// </summary>
    public Dictionary<string, string> Libvirt { get; init; } = new(StringComparer.Ordinal);

    /// <summary>A connection to the libvirt daemon of <paramref name="agentId"/>, or null when none is configured.</summary>
    public LibvirtConnection? LibvirtOf(string? agentId) =>
        agentId is not null && Libvirt.TryGetValue(agentId, out var uri) ? new LibvirtConnection(LibvirtUri.Parse(uri)) : null;

    /// <summary>
    /// How long a source agent waits for the target agent to prepare the incoming side (its
    /// <c>receive</c> command may arrive later than the source's <c>isolate</c>), and how long a target
    /// agent waits for the migration to begin before it gives its incoming twin up. Default 30 s.
    /// </summary>
    public TimeSpan PrepareTimeout { get; set; } = TimeSpan.FromSeconds(30);

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
        if (Backend is not (VmBackends.Qmp or VmBackends.Libvirt))
        {
            throw new ArgumentException($"{SectionName}:{nameof(Backend)} '{Backend}' is neither {VmBackends.Qmp} nor {VmBackends.Libvirt}");
        }
        foreach (var (agent, uri) in Libvirt)
        {
            Identifiers.RequireToken(agent, $"{SectionName}:{nameof(Libvirt)}");
            _ = LibvirtUri.Parse(uri);
        }
        if (Backend == VmBackends.Libvirt && Agents.Keys.FirstOrDefault(a => !Libvirt.ContainsKey(a)) is { } missing)
        {
            throw new ArgumentException($"{SectionName}:{nameof(Libvirt)} has no daemon URI for agent '{missing}' (backend {VmBackends.Libvirt})");
        }
        if (PrepareTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{SectionName}:{nameof(PrepareTimeout)} must be positive, not {PrepareTimeout}");
        }
        ArgumentNullException.ThrowIfNull(Migration, $"{SectionName}:{nameof(Migration)}");
        Migration.Validate();
    }
}

/// <summary>Values of <see cref="VmActuatorOptions.Backend"/>.</summary>
public static class VmBackends
{
    /// <summary>Plain QEMU processes driven over QMP.</summary>
    public const string Qmp = "qmp";

    /// <summary>Guests of libvirt daemons.</summary>
    public const string Libvirt = "libvirt";
}
