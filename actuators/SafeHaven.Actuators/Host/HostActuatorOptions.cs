using SafeHaven.Core;

namespace SafeHaven.Actuators.Host;

/// <summary>Configuration of the host actuator (section <c>SafeHaven:Actuator</c>).</summary>
public sealed class HostActuatorOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "SafeHaven:Actuator";

    /// <summary>Actuator id: commands whose <c>source</c> differs are foreign. Defaults to the host name.</summary>
    public string Id { get; set; } = Environment.MachineName;

    /// <summary>The isolation pool: CPUs handed out as exclusive slots. Required; the other online CPUs are the shared set.</summary>
    public CpuList? IsolationCpus { get; set; }

    /// <summary>Name of the SafeHaven parent cpuset (a token); tests use a unique one.</summary>
    public string CgroupName { get; set; } = "safehaven";

    /// <summary>
    /// Directory of the actuator's durable state (the journal of executed command ids, which keeps
    /// a redelivered command from running twice across restarts). Defaults to <c>/var/lib/safehaven</c>;
    /// empty keeps the journal in memory only.
    /// </summary>
    public string StateDirectory { get; set; } = "/var/lib/safehaven";

    /// <summary>The journal file of this actuator, or null when state is kept in memory only.</summary>
    public string? JournalPath => StateDirectory.Length == 0 ? null : Path.Combine(StateDirectory, Id, "executed-commands");

    /// <summary>The isolation pool, once <see cref="Validate"/> has accepted it.</summary>
    public CpuList Pool => IsolationCpus ?? throw new InvalidOperationException("IsolationCpus is not configured");

    /// <summary>The online CPUs outside the pool, where monitored workloads share.</summary>
    public CpuList SharedCpus(CpuList onlineCpus)
    {
        ArgumentNullException.ThrowIfNull(onlineCpus);
        return onlineCpus.Except(Pool);
    }

    /// <summary>Checks the options against the CPUs this host has online.</summary>
    /// <exception cref="ArgumentException">Names the problem: bad id or cgroup name, missing pool, pool CPU not online, no shared CPU left.</exception>
    public void Validate(CpuList onlineCpus)
    {
        ArgumentNullException.ThrowIfNull(onlineCpus);
        Identifiers.RequireToken(Id, $"{SectionName}:{nameof(Id)}");
        Identifiers.RequireToken(CgroupName, $"{SectionName}:{nameof(CgroupName)}");
        if (StateDirectory.Length > 0 && (!Path.IsPathFullyQualified(StateDirectory) || StateDirectory.Any(char.IsControl)))
        {
            throw new ArgumentException($"{SectionName}:{nameof(StateDirectory)} '{StateDirectory}' must be an absolute path (or empty for memory only)");
        }
        if (IsolationCpus is null || IsolationCpus.IsEmpty)
        {
            throw new ArgumentException($"{SectionName}:{nameof(IsolationCpus)} is required (e.g. '1' or '2-3')");
        }
        var offline = IsolationCpus.Except(onlineCpus);
        if (!offline.IsEmpty)
        {
            throw new ArgumentException($"{SectionName}:{nameof(IsolationCpus)} '{IsolationCpus}': cpus {offline} are not online (online: {onlineCpus})");
        }
        if (onlineCpus.IsSubsetOf(IsolationCpus))
        {
            throw new ArgumentException($"{SectionName}:{nameof(IsolationCpus)} '{IsolationCpus}' takes every online CPU ({onlineCpus}): no shared CPU would be left for the other workloads");
        }
    }
}
