using Microsoft.Extensions.Logging;
using SafeHaven.Probes.Perf;

namespace SafeHaven.Probes;

/// <summary>
/// What the sampler knows about each configured counter: "ok" or why it is not sampled. Remembers
/// refusals that hold for every process, so they are neither retried nor warned about again.
/// </summary>
internal sealed partial class CounterStatusTracker
{
    private const string Pending = "pending: no process opened yet";
    private readonly PerfEventSpec[] _specs;
    private readonly ILogger _logger;
    // Counters the kernel refused for a reason that is not about one process (no PMU, no such
    // tracepoint): not tried again on every new process.
    private readonly Dictionary<string, string> _refused = new(StringComparer.Ordinal);
    private readonly HashSet<string> _warned = new(StringComparer.Ordinal);
    private IReadOnlyDictionary<string, string> _status;

    public CounterStatusTracker(PerfEventSpec[] specs, ILogger logger)
    {
        _specs = specs;
        _logger = logger;
        _status = specs.ToDictionary(s => s.Name, s => s.IsPerf ? Pending : ProcessCounters.StatusOk, StringComparer.Ordinal);
    }

    /// <summary>Counter name → status; a snapshot, safe to read from any thread.</summary>
    public IReadOnlyDictionary<string, string> Status => Volatile.Read(ref _status);

    /// <summary>The counters worth opening on a new process.</summary>
    public List<PerfEventSpec> Openable() => [.. _specs.Where(s => !_refused.ContainsKey(s.Name))];

    /// <summary>Takes note of the counters <paramref name="w"/>'s kernel refused; warns once per counter.</summary>
    public void RecordRefusals(WatchedProcess w)
    {
        foreach (var (name, status) in w.Perf.Status)
        {
            if (status == ProcessCounters.StatusOk)
            {
                continue;
            }
            // Only refusals that hold for every process are remembered; a per-process one
            // (permission) is retried on the next process.
            if (status.StartsWith("unsupported", StringComparison.Ordinal))
            {
                _refused[name] = status;
            }
            if (_warned.Add(name))
            {
                LogCounterRefused(name, status);
            }
        }
    }

    /// <summary>Recomputes the snapshot: a counter is ok when it counts on at least one watched process.</summary>
    public void Update(IEnumerable<WatchedProcess> watched)
    {
        var status = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var spec in _specs)
        {
            string? s = null;
            if (!spec.IsPerf)
            {
                s = ProcessCounters.StatusOk;
            }
            else if (_refused.TryGetValue(spec.Name, out var refused))
            {
                s = refused;
            }
            else
            {
                foreach (var w in watched)
                {
                    string st = w.Perf.Status[spec.Name];
                    s = st;
                    if (st == ProcessCounters.StatusOk)
                    {
                        break;
                    }
                }
            }
            status[spec.Name] = s ?? Pending;
        }
        Volatile.Write(ref _status, status);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Counter {Counter} is not sampled: {Status}")]
    private partial void LogCounterRefused(string counter, string status);
}
