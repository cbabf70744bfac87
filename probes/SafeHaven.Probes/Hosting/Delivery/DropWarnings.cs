using Microsoft.Extensions.Logging;

namespace SafeHaven.Probes.Hosting.Delivery;

/// <summary>
/// Logs dropped samples of one sink, rate-limited: at most one warning per interval, naming how
/// many were dropped (by reason) since the previous warning. Drops are also counted in the
/// <see cref="ProbeMetrics.SamplesDroppedName"/> metric; this makes a loss visible to someone who
/// reads only the log.
/// </summary>
/// <remarks>
/// The first drop is logged at once. Drops inside the quiet interval are held and logged when it
/// ends (a timer), so the last burst before an outage ends is never left unreported. Thread-safe:
/// the sampler, librdkafka's delivery thread and the timer all report.
/// </remarks>
internal sealed partial class DropWarnings : IDisposable
{
    /// <summary>The shortest gap between two warnings of one sink.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(10);

    private readonly object _gate = new();
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly string _clientId;
    private readonly TimeSpan _interval;
    private readonly ITimer _timer;
    private readonly SortedDictionary<string, long> _pending = new(StringComparer.Ordinal);
    private long _lastWarning;
    private bool _warnedOnce;
    private bool _timerArmed;
    private bool _disposed;

    /// <summary>Creates the limiter for the sink of <paramref name="clientId"/>.</summary>
    public DropWarnings(ILogger logger, TimeProvider time, string clientId, TimeSpan interval)
    {
        _logger = logger;
        _time = time;
        _clientId = clientId;
        _interval = interval;
        _timer = time.CreateTimer(_ => OnTimer(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Takes note of <paramref name="count"/> samples dropped for <paramref name="reason"/>; may warn now.</summary>
    public void Add(long count, string reason)
    {
        if (count <= 0)
        {
            return;
        }
        lock (_gate)
        {
            _pending[reason] = _pending.GetValueOrDefault(reason) + count;
        }
        Flush(force: false);
    }

    /// <summary>Warns about whatever is held, whatever the interval (the sink is closing).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
        }
        _timer.Dispose();
        Flush(force: true);
    }

    private void OnTimer()
    {
        lock (_gate)
        {
            // A timer that fires a little early re-arms instead of leaving the count held for good.
            _timerArmed = false;
        }
        Flush(force: false);
    }

    private void Flush(bool force)
    {
        string? reasons = null;
        long total = 0;
        lock (_gate)
        {
            if (_pending.Count == 0)
            {
                return;
            }
            var since = _time.GetElapsedTime(_lastWarning);
            // Once closed, late drops (delivery reports after Close) are logged at once.
            if (!force && !_disposed && _warnedOnce && since < _interval)
            {
                // Hold the count; the timer reports it once the interval is over.
                if (!_timerArmed)
                {
                    _timerArmed = _timer.Change(_interval - since, Timeout.InfiniteTimeSpan);
                }
                return;
            }
            total = _pending.Values.Sum();
            reasons = string.Join(", ", _pending.Select(p => $"{p.Key} {p.Value}"));
            _pending.Clear();
            _lastWarning = _time.GetTimestamp();
            _warnedOnce = true;
            _timerArmed = false;
        }
        LogDropped(_clientId, total, reasons);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{ClientId}: dropped {Count} samples since the last warning ({Reasons}); see metric safehaven.probe.samples.dropped")]
    private partial void LogDropped(string clientId, long count, string reasons);
}
