using SafeHaven.Core;
using SafeHaven.Core.Rules;
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

    /// <summary>
    /// Most processes counted at the same time; 0 (default) = no limit, every watched process is
    /// counted all the time. With more watched processes, they are counted round-robin in slots
    /// of <see cref="Period"/> / ⌈processes / this⌉ (1 = the original system's period / #processes),
    /// still one sample per process per period. Set it on hosts whose PMU has few counters.
    /// </summary>
    public int MaxConcurrentProcesses { get; set; }

    /// <summary>Default of <see cref="FineTick"/>: 20 ms.</summary>
    public static readonly TimeSpan DefaultFineTick = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Early publication (docs/SAMPLES.md): how often, within a period, the counters that rules watch
    /// are read to find a window whose count already guarantees a rule's rate for the whole period.
    /// Defaults to 20 ms; zero turns early publication off. Needs <see cref="Rules"/> or
    /// <see cref="RulesFile"/>; not used round-robin (<see cref="MaxConcurrentProcesses"/> &gt; 0).
    /// </summary>
    public TimeSpan FineTick { get; set; } = DefaultFineTick;

    /// <summary>
    /// Early publication waits for the kernel: a rule counter (software event or tracepoint) is armed to
    /// overflow at the count that triggers and signals the probe, so that the fine tick reads only the
    /// processes overflow cannot cover (threads counted by inheritance, PMU events). Defaults to true; false
    /// reads every process on every fine tick (about twice the probe's CPU for idle processes). The probe logs
    /// which mode runs.
    /// </summary>
    public bool OverflowWake { get; set; } = true;

    /// <summary>
    /// Rules file whose thresholds the probe learns for early publication, re-read when it changes
    /// (as the detector does); empty (default) = none. Takes precedence over <see cref="Rules"/>.
    /// </summary>
    public string RulesFile { get; set; } = "";

    /// <summary>Rules already loaded (a process that runs the detector too); null (default) = none. Not bound from configuration.</summary>
    [SafeHaven.Kafka.Configuration.NotConfigured]
    public RuleSet? Rules { get; set; }

    /// <summary>Default of <see cref="BufferSamples"/>.</summary>
    public const int DefaultBufferSamples = 10_000;

    /// <summary>
    /// Samples held in memory while the broker is unreachable; when full, the oldest is dropped and
    /// counted (metric <c>safehaven.probe.samples.dropped</c> and the next sample's <c>droppedSamples</c>).
    /// Up to min(this, 1000) more may wait inside the Kafka client. Defaults to 10 000.
    /// </summary>
    public int BufferSamples { get; set; } = DefaultBufferSamples;

    /// <summary>Counter names (docs/DESIGN.md §5). Empty means <see cref="DefaultCounters"/>.</summary>
    /// <remarks>
    /// Starts empty on purpose: the configuration binder appends to a pre-filled list, so a
    /// configured list would silently keep the defaults too.
    /// </remarks>
    public IList<string> Counters { get; set; } = [];

    /// <summary>Pids to watch; empty = every user process.</summary>
    public IList<int> Pids { get; set; } = [];

    /// <summary>Command names (/proc/PID/comm) to watch; empty = all.</summary>
    public IList<string> Comms { get; set; } = [];

    /// <summary>Real uids whose processes to watch; empty = all.</summary>
    public IList<uint> Uids { get; set; } = [];

    /// <summary>Cgroup path prefixes (whole segments, e.g. <c>/system.slice/web.service</c>) to watch; empty = all.</summary>
    public IList<string> Cgroups { get; set; } = [];

    /// <summary>Container ids (a docker id prefix of 12+ characters works) or LXC names to watch; empty = all.</summary>
    public IList<string> Containers { get; set; } = [];

    /// <summary>
    /// Tenant name → selectors of the processes it owns, each <c>comm:NAME</c>, <c>uid:N</c>,
    /// <c>container:ID</c>, <c>vm:NAME</c>, <c>unit:NAME.service</c> or <c>cgroup:/PATH</c>
    /// (see <see cref="Inventory.TenantSelectors"/> for precedence). Starts empty: the binder would merge.
    /// </summary>
    public IDictionary<string, IList<string>> Tenants { get; set; } = new Dictionary<string, IList<string>>(StringComparer.Ordinal);

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
        if (MaxConcurrentProcesses < 0)
        {
            throw new ArgumentException($"{SectionName}:{nameof(MaxConcurrentProcesses)}: must be 0 (no limit) or positive, got {MaxConcurrentProcesses}", nameof(MaxConcurrentProcesses));
        }
        if (FineTick < TimeSpan.Zero || (FineTick > TimeSpan.Zero && FineTick < TimeSpan.FromMilliseconds(1)))
        {
            throw new ArgumentException($"{SectionName}:{nameof(FineTick)}: must be zero (off) or at least 1 ms, got {FineTick}", nameof(FineTick));
        }
        if (BufferSamples <= 0)
        {
            throw new ArgumentException($"{SectionName}:{nameof(BufferSamples)}: must be positive, got {BufferSamples}", nameof(BufferSamples));
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
        Proc.DiscoveryFilter.Validate(this);
        _ = Inventory.TenantSelectors.Parse(Tenants);
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
