using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SafeHaven.Probes.Perf;
using SafeHaven.Probes.Proc;
using SafeHaven.Schemas;

namespace SafeHaven.Probes;

/// <summary>
/// The sampling loop: once per period, reads every watched process's counters together and
/// publishes one <see cref="CounterSample"/> per process; rediscovers processes every period.
/// </summary>
public sealed partial class Sampler : IDisposable
{
    private readonly ProbeOptions _options;
    private readonly TimeProvider _time;
    private readonly ISampleSink _sink;
    private readonly ILogger _logger;
    private readonly ProcessDiscovery _discovery;
    private readonly ProcFs _proc;
    private readonly PerfEventSpec[] _specs;
    private readonly Dictionary<int, WatchedProcess> _watched = [];
    // Counters the kernel refused for a reason that is not about one process (no PMU, no such
    // tracepoint): not tried again on every new process.
    private readonly Dictionary<string, string> _refused = new(StringComparer.Ordinal);
    private readonly HashSet<string> _warned = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private IReadOnlyDictionary<string, string> _status;
    private long _seq;

    /// <summary>Creates a sampler; validates <paramref name="options"/> first.</summary>
    /// <exception cref="ArgumentException">An option is invalid (named in the message).</exception>
    public Sampler(ProbeOptions options, TimeProvider time, ISampleSink sink, ILogger? logger = null)
        : this(options, time, sink, logger, ProcFs.Default)
    {
    }

    internal Sampler(ProbeOptions options, TimeProvider time, ISampleSink sink, ILogger? logger, ProcFs proc)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _sink = sink ?? throw new ArgumentNullException(nameof(sink));
        _logger = logger ?? NullLogger.Instance;
        _proc = proc;
        _discovery = new ProcessDiscovery(options.Pids, options.Comms, proc);
        _specs = [.. options.EffectiveCounters.Select(Resolve)];
        _status = _specs.ToDictionary(s => s.Name, s => s.IsPerf ? "pending: no process opened yet" : ProcessCounters.StatusOk, StringComparer.Ordinal);
    }

    /// <summary>Counter name → "ok" or why it is not sampled; a snapshot, safe to read from any thread.</summary>
    public IReadOnlyDictionary<string, string> CounterStatus => Volatile.Read(ref _status);

    /// <summary>Pids currently watched (counters open).</summary>
    public IReadOnlyCollection<int> WatchedPids
    {
        get { lock (_gate) { return [.. _watched.Keys]; } }
    }

    /// <summary>Samples once per period until <paramref name="cancellationToken"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        SampleOnce();
        // PeriodicTimer keeps the phase: a slow tick does not push every later tick back.
        using var timer = new PeriodicTimer(_options.Period, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    SampleOnce();
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogTickFailed(e);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Normal shutdown.
        }
    }

    /// <summary>
    /// One sampling slot: reads and publishes every watched process (except those read less than
    /// half a period ago), drops the ones gone, then opens counters on newly discovered processes
    /// (their first sample comes next slot).
    /// Returns the number of samples published.
    /// </summary>
    public int SampleOnce()
    {
        lock (_gate)
        {
            long tickTs = _time.GetTimestamp();
            long tickEpochNs = (_time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;
            int published = 0;
            long minWindow = _options.Period.Ticks * _time.TimestampFrequency / TimeSpan.TicksPerSecond / 2;
            foreach (var w in _watched.Values.ToList())
            {
                // A late slot followed by an on-time one would publish a sliver of a window whose
                // rate is mostly noise: such a process waits for the next slot instead.
                if (tickTs - w.LastReadTs < minWindow)
                {
                    continue;
                }
                if (w.Read() is not { } r)
                {
                    Drop(w);
                    continue;
                }
                _sink.Publish(new CounterSample
                {
                    host = _options.HostId,
                    entity = Entity(w.Identity),
                    values = r.Values,
                    intervalNs = r.IntervalNs,
                    timestampNs = tickEpochNs + ToNs(r.EndTs - tickTs),
                    seq = _seq++,
                });
                published++;
            }
            Rediscover();
            UpdateStatus();
            return published;
        }
    }

    private void Rediscover()
    {
        var alive = new HashSet<int>();
        foreach (var id in _discovery.Discover())
        {
            alive.Add(id.Pid);
            if (_watched.TryGetValue(id.Pid, out var w))
            {
                if (w.Identity.StartTime == id.StartTime)
                {
                    continue;
                }
                Drop(w); // pid reused by another process
            }
            var specs = _specs.Where(s => !_refused.ContainsKey(s.Name)).ToList();
            if (WatchedProcess.TryOpen(_proc, _time, id, specs) is { } opened)
            {
                _watched[id.Pid] = opened;
                RecordRefusals(opened);
            }
        }
        foreach (var w in _watched.Values.Where(w => !alive.Contains(w.Identity.Pid)).ToList())
        {
            Drop(w);
        }
    }

    private void RecordRefusals(WatchedProcess w)
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

    private void UpdateStatus()
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
                foreach (var w in _watched.Values)
                {
                    string st = w.Perf.Status[spec.Name];
                    s = st;
                    if (st == ProcessCounters.StatusOk)
                    {
                        break;
                    }
                }
            }
            status[spec.Name] = s ?? "pending: no process opened yet";
        }
        Volatile.Write(ref _status, status);
    }

    private void Drop(WatchedProcess w)
    {
        _watched.Remove(w.Identity.Pid);
        w.Dispose();
    }

    private EntityRef Entity(ProcessIdentity id) => new()
    {
        datacenter = _options.Datacenter,
        host = _options.HostId,
        pid = id.Pid,
        comm = id.Comm,
        container = id.Container,
        startTime = id.StartTime,
    };

    private long ToNs(long timestampDelta) => (long)((Int128)timestampDelta * 1_000_000_000 / _time.TimestampFrequency);

    private static PerfEventSpec Resolve(string name) =>
        CounterCatalog.TryResolve(name, out var spec, out string error) ? spec : throw new ArgumentException(error, nameof(name));

    /// <summary>Closes every counter.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var w in _watched.Values)
            {
                w.Dispose();
            }
            _watched.Clear();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Counter {Counter} is not sampled: {Status}")]
    private partial void LogCounterRefused(string counter, string status);

    [LoggerMessage(Level = LogLevel.Error, Message = "Sampling slot failed; continuing with the next one")]
    private partial void LogTickFailed(Exception e);
}
