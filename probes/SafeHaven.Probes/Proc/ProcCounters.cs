namespace SafeHaven.Probes.Proc;

/// <summary>
/// The <c>proc:FIELD</c> counters of one process: cumulative /proc values turned into deltas
/// between two reads. Covers every thread (the kernel sums them) and needs no privilege.
/// </summary>
public sealed class ProcCounters
{
    /// <summary>Fields of /proc/PID/status the catalog accepts.</summary>
    private static readonly string[] StatusFields = ["voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"];

    /// <summary>All accepted fields: minflt, majflt, utime and stime (clock ticks) from stat, and the status ones.</summary>
    public static IReadOnlySet<string> Fields { get; } =
        new HashSet<string>(["minflt", "majflt", "utime", "stime", .. StatusFields], StringComparer.Ordinal);

    private readonly ProcFs _proc;
    private readonly int _pid;
    private readonly IReadOnlyList<(string Name, string Field)> _counters;
    private Dictionary<string, long>? _previous;

    /// <summary>Watches <paramref name="counters"/> (counter name, /proc field) of <paramref name="pid"/>.</summary>
    public ProcCounters(ProcFs proc, int pid, IReadOnlyList<(string Name, string Field)> counters)
    {
        _proc = proc;
        _pid = pid;
        _counters = counters;
        foreach (var (name, field) in counters)
        {
            if (!Fields.Contains(field))
            {
                throw new ArgumentException($"counter '{name}': unknown /proc field '{field}'", nameof(counters));
            }
        }
    }

    /// <summary>True when no counter is watched.</summary>
    public bool IsEmpty => _counters.Count == 0;

    /// <summary>
    /// Deltas since the previous call, keyed by counter name; empty on the first call (it only
    /// takes the baseline); null when the process is gone.
    /// </summary>
    public IReadOnlyDictionary<string, long>? Read()
    {
        if (_counters.Count == 0)
        {
            return new Dictionary<string, long>();
        }
        var now = Snapshot();
        if (now is null)
        {
            return null;
        }
        var deltas = new Dictionary<string, long>(StringComparer.Ordinal);
        if (_previous is not null)
        {
            foreach (var (name, value) in now)
            {
                deltas[name] = _previous.TryGetValue(name, out long before) ? Math.Max(0, value - before) : 0;
            }
        }
        _previous = now;
        return deltas;
    }

    private Dictionary<string, long>? Snapshot()
    {
        if (_proc.ReadStat(_pid) is not { } stat)
        {
            return null;
        }
        string? status = _counters.Any(c => StatusFields.Contains(c.Field)) ? _proc.ReadStatus(_pid) : null;
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (name, field) in _counters)
        {
            long? v = field switch
            {
                "minflt" => stat.MinFlt,
                "majflt" => stat.MajFlt,
                "utime" => stat.UTime,
                "stime" => stat.STime,
                _ => status is null ? null : ProcFs.StatusField(status, field),
            };
            if (v is null)
            {
                return null;
            }
            values[name] = v.Value;
        }
        return values;
    }
}
