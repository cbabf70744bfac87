using SafeHaven.Core;
using SafeHaven.Probes.Perf;

namespace SafeHaven.Probes;

/// <summary>Probe settings, bound from the configuration section <see cref="SectionName"/>.</summary>
public sealed class ProbeOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "SafeHaven:Probe";

    /// <summary>Counters sampled when none are configured.</summary>
    public static IReadOnlyList<string> DefaultCounters { get; } = ["context-switches", "page-faults"];

    /// <summary>Datacenter id of this host.</summary>
    public string Datacenter { get; set; } = "local";

    /// <summary>Host id: the key of every sample.</summary>
    public string HostId { get; set; } = Environment.MachineName;

    /// <summary>Sampling period: one sample per watched process per period.</summary>
    public TimeSpan Period { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Counter names (DESIGN §5). Empty means <see cref="DefaultCounters"/>.</summary>
    /// <remarks>
    /// Starts empty on purpose: the configuration binder appends to a pre-filled list, so a
    /// configured list would silently keep the defaults too.
    /// </remarks>
    public IList<string> Counters { get; set; } = [];

    /// <summary>Pids to watch; empty = every user process.</summary>
    public IList<int> Pids { get; set; } = [];

    /// <summary>Command names (/proc/PID/comm) to watch; empty = all.</summary>
    public IList<string> Comms { get; set; } = [];

    /// <summary>The counters actually sampled: <see cref="Counters"/>, or the defaults when empty.</summary>
    public IReadOnlyList<string> EffectiveCounters => Counters.Count > 0 ? [.. Counters] : DefaultCounters;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad option.</summary>
    public void Validate()
    {
        Identifiers.RequireToken(Datacenter, $"{SectionName}:{nameof(Datacenter)}");
        Identifiers.RequireToken(HostId, $"{SectionName}:{nameof(HostId)}");
        if (Period <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{SectionName}:{nameof(Period)}: must be positive, got {Period}", nameof(Period));
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string name in EffectiveCounters)
        {
            if (!CounterCatalog.TryResolve(name, out _, out string error))
            {
                throw new ArgumentException($"{SectionName}:{nameof(Counters)}: {error}", nameof(Counters));
            }
            if (!seen.Add(name))
            {
                throw new ArgumentException($"{SectionName}:{nameof(Counters)}: counter '{name}' is listed twice", nameof(Counters));
            }
        }
        foreach (int pid in Pids)
        {
            Identifiers.RequirePid(pid, $"{SectionName}:{nameof(Pids)}");
        }
        foreach (string comm in Comms)
        {
            // TASK_COMM_LEN is 16 including the NUL: a longer name can never match.
            if (string.IsNullOrEmpty(comm) || comm.Length > 15)
            {
                throw new ArgumentException($"{SectionName}:{nameof(Comms)}: '{comm}' is not a command name (1 to 15 characters)", nameof(Comms));
            }
        }
    }
}
