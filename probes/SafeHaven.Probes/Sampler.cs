using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SafeHaven.Probes.Perf;
using SafeHaven.Probes.Proc;
using SafeHaven.Schemas;
using SafeHaven.Core;

namespace SafeHaven.Probes;

/// <summary>
/// The sampling loop: once per period, reads every watched process's counters together and
/// publishes one <see cref="CounterSample"/> per process (all of a tick together, see
/// <see cref="ISampleSink.PublishTick"/>); rediscovers processes every period.
/// With more processes than <see cref="ProbeOptions.MaxConcurrentProcesses"/>, counts them
/// round-robin instead (still one sample per process per period).
/// </summary>
public sealed partial class Sampler : IDisposable
{
    private readonly ProbeOptions _options;
    private readonly TimeProvider _time;
    private readonly SlotClock _slots;
    private readonly ISampleSink _sink;
    private readonly ILogger _logger;
    private readonly ProcessDiscovery _discovery;
    private readonly ProcFs _proc;
    private readonly CounterStatusTracker _status;
    private readonly Dictionary<int, WatchedProcess> _watched = [];
    private readonly Lock _gate = new();
    // Round-robin opens counters disabled: a process counts only during its slot.
    private readonly bool _roundRobin;
    private readonly ProbeRules _rules;
    private readonly long _periodTs;
    // The scheduled time of the next regular tick: where the windows that start now are planned to end.
    private long _nextDueTs;
    private long _seq;

    /// <summary>Creates a sampler; validates <paramref name="options"/> first.</summary>
    /// <param name="options">What to sample and how often.</param>
    /// <param name="time">
    /// The clock of the sampling loops. It must run by itself (the system clock, or one that follows it): the
    /// round-robin and fine-tick loops wait for its timestamps with precise sleeps.
    /// </param>
    /// <param name="sink">Where the samples go.</param>
    /// <param name="logger">Logs; none when null.</param>
    /// <exception cref="ArgumentException">An option is invalid (named in the message).</exception>
    public Sampler(ProbeOptions options, TimeProvider time, ISampleSink sink, ILogger? logger = null)
        : this(options, time, sink, logger, ProcFs.Default)
    {
    }

    /// <summary>As the public constructor, with the /proc to read and how the loops wait (tests: <see cref="SlotClock.OnTimers"/>).</summary>
    internal Sampler(ProbeOptions options, TimeProvider time, ISampleSink sink, ILogger? logger, ProcFs proc, SlotClock? slots = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _slots = slots ?? SlotClock.Precise(time);
        if (_slots.Time != time)
        {
            throw new ArgumentException("the slot clock must wait on the sampler's own clock", nameof(slots));
        }
        _sink = sink ?? throw new ArgumentNullException(nameof(sink));
        _logger = logger ?? NullLogger.Instance;
        _proc = proc;
        _discovery = new ProcessDiscovery(DiscoveryFilter.From(options), proc);
        _status = new CounterStatusTracker([.. options.EffectiveCounters.Select(Resolve)], _logger);
        _roundRobin = options.MaxConcurrentProcesses > 0;
        _rules = new ProbeRules(options, _logger);
        _periodTs = (long)((Int128)options.Period.Ticks * time.TimestampFrequency / TimeSpan.TicksPerSecond);
        _overflowCapable = options.OverflowWake && _rules.CanPublishEarly && options.FineTick < options.Period && !_roundRobin;
        if (ProcessCounters.KernelCoverage == ThreadCoverage.PerThreadFds)
        {
            LogPerThreadFallback();
        }
    }

    /// <summary>Counter name → "ok" or why it is not sampled; a snapshot, safe to read from any thread.</summary>
    public IReadOnlyDictionary<string, string> CounterStatus => _status.Status;

    /// <summary>What the latest rediscovery found (a superset of <see cref="WatchedPids"/>); safe to read from any thread.</summary>
    public IReadOnlyList<DiscoveredProcess> Discovered => _discovery.Last;

    /// <summary>Pids currently watched (counters open).</summary>
    public IReadOnlyCollection<int> WatchedPids
    {
        get { lock (_gate) { return [.. _watched.Keys]; } }
    }

    /// <summary>How late slots started against their schedule (jitter measurements).</summary>
    internal SlotTimings Timings { get; } = new();

    /// <summary>
    /// Samples once per period until <paramref name="cancellationToken"/> is cancelled: all watched
    /// processes at once, or round-robin when there are more than
    /// <see cref="ProbeOptions.MaxConcurrentProcesses"/>.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (_roundRobin)
        {
            try
            {
                await new RoundRobinScheduler(this, _slots, _options.Period, _options.MaxConcurrentProcesses, Timings)
                    .RunAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Normal shutdown.
            }
            return;
        }
        if (_rules.CanPublishEarly && _options.FineTick < _options.Period)
        {
            try
            {
                await new FineTickScheduler(this, _slots, _options.Period, _options.FineTick, Timings)
                    .RunAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Normal shutdown.
            }
            return;
        }
        SampleOnce();
        // PeriodicTimer keeps the phase: a slow tick does not push every later tick back.
        long start = _time.GetTimestamp();
        using var timer = new PeriodicTimer(_options.Period, _time);
        long ticks = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                Timings.RecordStart(_time.GetElapsedTime(start) - (_options.Period * ++ticks));
                try
                {
                    long cpu = PerfNative.ThreadCpuNs();
                    SampleOnce();
                    Timings.AddCpu(PerfNative.ThreadCpuNs() - cpu);
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
    /// <exception cref="InvalidOperationException">Round-robin mode: <see cref="RunAsync"/> drives its slots.</exception>
    public int SampleOnce() => SampleScheduled(_time.GetTimestamp() + _periodTs);

    /// <summary>
    /// A regular tick whose successor is scheduled at <paramref name="nextDueTs"/>: every window that
    /// starts now is planned to end there. A process published early this period is skipped: its
    /// window runs on to the next tick, so each process still gives one sample per period.
    /// </summary>
    internal int SampleScheduled(long nextDueTs)
    {
        if (_roundRobin)
        {
            throw new InvalidOperationException($"{nameof(SampleOnce)} samples all processes at once; with {nameof(ProbeOptions.MaxConcurrentProcesses)} set, {nameof(RunAsync)} drives the round-robin slots");
        }
        lock (_gate)
        {
            long tickTs = _time.GetTimestamp();
            long tickEpochNs = EpochNs();
            var tick = new List<CounterSample>(_watched.Count);
            // The stat each read just found: discovery below uses it instead of reading it a second time.
            var fresh = new Dictionary<int, ProcStat>(_watched.Count);
            _nextDueTs = nextDueTs;
            _rules.Refresh();
            long minWindow = _options.Period.Ticks * _time.TimestampFrequency / TimeSpan.TicksPerSecond / 2;
            try
            {
                foreach (var w in _watched.Values.ToList())
                {
                    if (w.PublishedEarly)
                    {
                        // Its window already ends at nextDueTs (see PublishEarly).
                        w.PublishedEarly = false;
                        continue;
                    }
                    w.PlannedEndTs = nextDueTs;
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
                    tick.Add(ToSample(w, r, tickTs, tickEpochNs));
                    if (w.Perf.LastStat is { } stat)
                    {
                        fresh[w.Identity.Pid] = stat;
                    }
                }
            }
            finally
            {
                // A read that throws half-way still lets the samples already taken out.
                Publish(tick);
            }
            Rediscover(fresh);
            _status.Update(_watched.Values);
            ArmAll(tickTs);
            return tick.Count;
        }
    }

    // One tick's samples go out together: the Kafka sink makes them one SampleBatch record.
    private void Publish(List<CounterSample> tick)
    {
        if (tick.Count > 0)
        {
            _sink.PublishTick(tick);
        }
    }

    private CounterSample ToSample(WatchedProcess w, WatchedProcess.Reading r, long refTs, long refEpochNs) =>
        new()
        {
            host = _options.HostId,
            entity = Entity(w.Identity),
            values = r.Values,
            intervalNs = r.IntervalNs,
            timestampNs = refEpochNs + ToNs(r.EndTs - refTs),
            seq = _seq++,
        };

    private long EpochNs() => _time.NowNs();

    private void Rediscover(IReadOnlyDictionary<int, ProcStat>? fresh = null)
    {
        var alive = new HashSet<int>();
        foreach (var id in _discovery.Discover(fresh))
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
            if (WatchedProcess.TryOpen(_proc, _time, id, _status.Openable(), enabled: !_roundRobin, _overflowCapable) is { } opened)
            {
                opened.PlannedEndTs = _nextDueTs;
                _watched[id.Pid] = opened;
                _status.RecordRefusals(opened);
            }
        }
        foreach (var w in _watched.Values.Where(w => !alive.Contains(w.Identity.Pid)).ToList())
        {
            Drop(w);
        }
    }

    private void Drop(WatchedProcess w)
    {
        Forget(w);
        _watched.Remove(w.Identity.Pid);
        w.Dispose();
    }

    private EntityRef Entity(ProcessIdentity id) => id.ToEntity(_options.Datacenter, _options.HostId);

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

    [LoggerMessage(Level = LogLevel.Warning, Message = "This kernel has no perf inherit_thread (Linux 5.13+): each thread gets its own counters when a read finds it; threads that live less than a period are missed")]
    private partial void LogPerThreadFallback();

    [LoggerMessage(Level = LogLevel.Error, Message = "Sampling slot failed; continuing with the next one")]
    private partial void LogTickFailed(Exception e);
}
