using Microsoft.Extensions.Logging;
using SafeHaven.Core.Detector;

namespace SafeHaven.StreamProcessors.Rules;

/// <summary>
/// Reloads the detector's rules when their file changes, without a restart (issue 4). Watches the
/// file's directory rather than the file, because editors often save by writing a temporary file
/// and renaming it over the original (or deleting and recreating it), which a watch on the file
/// itself would lose. Events are debounced: one save fires several of them.
/// </summary>
public sealed partial class RulesWatcher : IDisposable
{
    /// <summary>Default quiet time after the last event before the file is read.</summary>
    public static readonly TimeSpan DefaultDebounce = TimeSpan.FromMilliseconds(250);

    private readonly RulesReloader _reloader;
    private readonly ILogger _logger;
    private readonly TimeSpan _debounce;
    private readonly ITimer _timer;
    private readonly Lock _gate = new();
    private readonly string _fileName;
    private FileSystemWatcher? _watcher;
    private RulesReloadOutcome? _last;
    private int _attempts;

    /// <summary>Creates a watcher; call <see cref="Start"/> to begin watching.</summary>
    /// <param name="engine">The engine whose rules are replaced.</param>
    /// <param name="path">The rules file; must exist.</param>
    /// <param name="time">Clock of the debounce timer.</param>
    /// <param name="logger">Where reloads and refusals are logged.</param>
    /// <param name="debounce">Quiet time before reading; <see cref="DefaultDebounce"/> when null.</param>
    public RulesWatcher(DetectorEngine engine, string path, TimeProvider time, ILogger<RulesWatcher> logger, TimeSpan? debounce = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        var full = Path.GetFullPath(path);
        _fileName = Path.GetFileName(full);
        // The parser names the path as given, so messages match what the operator typed.
        _reloader = new RulesReloader(engine, path);
        _debounce = debounce ?? DefaultDebounce;
        ArgumentOutOfRangeException.ThrowIfLessThan(_debounce, TimeSpan.Zero);
        Directory = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' has no directory", nameof(path));
        _timer = time.CreateTimer(_ => Reload(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The directory watched.</summary>
    public string Directory { get; }

    /// <summary>Outcome of the latest reload attempt; null before the first.</summary>
    public RulesReloadOutcome? LastOutcome => Volatile.Read(ref _last);

    /// <summary>Number of reload attempts so far.</summary>
    public int Attempts => Volatile.Read(ref _attempts);

    /// <summary>Starts watching.</summary>
    public void Start()
    {
        var watcher = new FileSystemWatcher(Directory)
        {
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            IncludeSubdirectories = false,
        };
        watcher.Changed += OnEvent;
        watcher.Created += OnEvent;
        watcher.Renamed += OnEvent;
        // An overflowed event buffer may have swallowed our file's events: re-read to be safe.
        watcher.Error += (_, _) => Poke();
        watcher.EnableRaisingEvents = true;
        _watcher = watcher;
        LogWatching(_logger, _reloader.Path);
    }

    /// <summary>Schedules a reload after the debounce time, postponing any pending one.</summary>
    internal void Poke() => _timer.Change(_debounce, Timeout.InfiniteTimeSpan);

    /// <inheritdoc/>
    public void Dispose()
    {
        _watcher?.Dispose();
        _timer.Dispose();
    }

    private void OnEvent(object sender, FileSystemEventArgs e)
    {
        // Renamed covers "write temp, rename over the file"; its new name is e.Name.
        if (string.Equals(e.Name, _fileName, StringComparison.Ordinal))
        {
            Poke();
        }
    }

    private void Reload()
    {
        // Timer callbacks may overlap when a poke lands during a slow read; one at a time.
        lock (_gate)
        {
            var outcome = _reloader.Reload();
            if (outcome.Applied && outcome.Changed)
            {
                LogReloaded(_logger, outcome.RuleCount, _reloader.Path);
            }
            else if (!outcome.Applied)
            {
                LogRefused(_logger, outcome.Problem, outcome.RuleCount);
            }
            Volatile.Write(ref _last, outcome);
            Interlocked.Increment(ref _attempts);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "rules: watching {File} for changes")]
    private static partial void LogWatching(ILogger logger, string file);

    [LoggerMessage(Level = LogLevel.Information, Message = "rules reloaded: {Count} rules from {File}")]
    private static partial void LogReloaded(ILogger logger, int count, string file);

    [LoggerMessage(Level = LogLevel.Warning, Message = "rules not reloaded, keeping the {Count} rules in force: {Problem}")]
    private static partial void LogRefused(ILogger logger, string? problem, int count);
}
