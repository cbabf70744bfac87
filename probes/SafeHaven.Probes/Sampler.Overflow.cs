using Microsoft.Extensions.Logging;
using SafeHaven.Core.Samples;
using SafeHaven.Probes.Perf;

namespace SafeHaven.Probes;

/// <summary>How early publication finds the windows to publish.</summary>
public enum EarlyWake
{
    /// <summary>No early publication (no rules, fine tick off, or round-robin).</summary>
    Off,

    /// <summary>Every fine tick reads the rule counters of every watched process.</summary>
    FineTick,

    /// <summary>
    /// The kernel signals when a rule counter reaches the count that triggers; the fine tick reads only
    /// the processes that signals cannot cover.
    /// </summary>
    Overflow,
}

// Early publication by counter overflow (docs/SAMPLES.md): at each window's start the rule counters are
// armed to overflow at the count that triggers; the scheduler's thread sleeps until a signal or a tick.
public sealed partial class Sampler
{
    // A process woken this often in one window without being published (threads it created later
    // overflowing on their own) is left to the fine tick for the rest of it: a storm cannot make the probe spin.
    private const int MaxWakesPerWindow = 8;
    private readonly bool _overflowCapable;
    private readonly Dictionary<int, WatchedProcess> _byFd = [];
    // Processes with a rule counter that signals cannot cover this window: the fine tick reads them.
    private readonly HashSet<WatchedProcess> _peek = [];
    private OverflowSignals? _overflow;
    private long _wakes;

    /// <summary>How early publication runs now (it may change when the scheduler starts or stops).</summary>
    public EarlyWake EarlyMode => _overflow is not null ? EarlyWake.Overflow : _rules.CanPublishEarly && _options.FineTick < _options.Period && !_roundRobin ? EarlyWake.FineTick : EarlyWake.Off;

    /// <summary>Processes woken by an overflow signal so far (a measure of the signals' cost).</summary>
    internal long OverflowWakes => Interlocked.Read(ref _wakes);

    /// <summary>True when the fine tick has something to read (always without overflow signals).</summary>
    internal bool NeedsFineTick
    {
        get { lock (_gate) { return _overflow is null || _peek.Count > 0; } }
    }

    /// <summary>Whether counters should be opened so that their overflow can signal.</summary>
    internal bool WantsOverflow => _overflowCapable;

    /// <summary>Overflows signal <paramref name="signals"/> from now on (called on its thread); every open process is armed.</summary>
    internal void StartOverflow(OverflowSignals signals)
    {
        lock (_gate)
        {
            _overflow = signals;
            ArmAll();
        }
        LogOverflowMode(signals.Signal, _options.FineTick.TotalMilliseconds);
    }

    /// <summary>No more signals (the scheduler's thread is leaving): every counter is disarmed.</summary>
    internal void StopOverflow()
    {
        lock (_gate)
        {
            foreach (var w in _watched.Values)
            {
                w.Perf.DisarmAll();
            }
            _overflow = null;
            _byFd.Clear();
            _peek.Clear();
        }
    }

    /// <summary>
    /// The counters of <paramref name="fds"/> overflowed (or, with <paramref name="lost"/>, some
    /// signals were dropped): their processes take the fine tick's exact path. Returns samples published.
    /// </summary>
    internal int OnOverflow(IReadOnlyList<int> fds, bool lost, long nextDueTs)
    {
        var early = _rules.Current;
        lock (_gate)
        {
            if (_overflow is null || !early.IsEnabled)
            {
                return 0;
            }
            var woken = new List<WatchedProcess>();
            foreach (var w in lost ? _watched.Values : fds.Select(fd => _byFd.GetValueOrDefault(fd)).OfType<WatchedProcess>().Distinct())
            {
                if (++w.Wakes > MaxWakesPerWindow)
                {
                    WatchByFineTick(w);
                    continue;
                }
                // Whatever period the kernel reloaded at this overflow, the re-arm below sets the one needed:
                // a wake-up after an ioctl that met the thread running comes at its next event, with the
                // period before the ioctl reloaded (for a process armed for the first time, 2^62: no signal
                // ever again), and keeping the armed period lost whole storms (docs/SAMPLES.md).
                w.Perf.ForgetArmedPeriods(lost ? null : fds);
                // A thread it created since its last read makes overflow unfit (see ProcessCounters.Arm): the
                // re-arm below then leaves it to the fine tick at once.
                w.Perf.RefreshThreads();
                woken.Add(w);
            }
            Interlocked.Add(ref _wakes, woken.Count);
            return PublishWindows(woken, early, nextDueTs);
        }
    }

    // A new window for every process (after the regular tick that started at tickTs, if any): under _gate.
    private void ArmAll(long? tickTs = null)
    {
        if (_overflow is null)
        {
            return;
        }
        var early = _rules.Current;
        foreach (var w in _watched.Values)
        {
            w.Wakes = 0;
            if (w.PublishedEarly)
            {
                Disarm(w);
            }
            else
            {
                // A window this tick just read has counted next to nothing yet: no need to ask.
                Rearm(w, early, fresh: w.LastReadTs >= tickTs);
            }
        }
    }

    // Arms w's rule counters for what its window still needs; what they cannot cover goes to the fine tick.
    private void Rearm(WatchedProcess w, EarlyPublication early, bool fresh = false)
    {
        if (_overflow is null)
        {
            return;
        }
        if (w.Wakes > MaxWakesPerWindow)
        {
            // Left to the fine tick for the rest of its window: the fine tick that finds it short must not
            // arm it again (each arm that met its thread running would wake the probe at its next event).
            WatchByFineTick(w);
            return;
        }
        bool covered = true;
        foreach (var (index, name, needed) in TriggersOf(w, early))
        {
            long remaining = needed - (fresh ? 0 : w.Perf.Peek(index)) - w.Deferred(name);
            covered &= remaining > 0 && w.Perf.Arm(index, remaining, _overflow);
            if (w.RegisteredFds != w.Perf.OpenFdCount)
            {
                foreach (int fd in w.Perf.FdsOf(index))
                {
                    _byFd[fd] = w;
                }
            }
        }
        w.RegisteredFds = w.Perf.OpenFdCount;
        if (covered)
        {
            _peek.Remove(w);
        }
        else
        {
            WatchByFineTick(w);
        }
    }

    private void WatchByFineTick(WatchedProcess w)
    {
        if (_overflow is not null)
        {
            w.Perf.DisarmAll();
            _peek.Add(w);
        }
    }

    private void Disarm(WatchedProcess w)
    {
        if (_overflow is not null)
        {
            w.Perf.DisarmAll();
            _peek.Remove(w);
        }
    }

    // Under _gate, before w is disposed.
    private void Forget(WatchedProcess w)
    {
        _peek.Remove(w);
        foreach (int fd in Enumerable.Range(0, w.Perf.CounterCount).SelectMany(w.Perf.FdsOf))
        {
            if (_byFd.TryGetValue(fd, out var owner) && owner == w)
            {
                _byFd.Remove(fd);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Early publication: the kernel watches the rule counters (perf overflow, signal {Signal} to the sampling thread); the {FineTickMs} ms fine tick reads only the processes it cannot cover")]
    private partial void LogOverflowMode(int signal, double fineTickMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Early publication: fine tick every {FineTickMs} ms over every process; overflow signals unavailable: {Reason}")]
    internal partial void LogFineTickMode(double fineTickMs, string reason);
}
