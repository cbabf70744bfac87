using System.Diagnostics;
using Spectre.Console;

namespace SafeHaven.Cli.Runtime;

/// <summary>
/// Progress of a long operation (guest build, record, replay, evaluate, simulate) on stderr, never stdout (which stays
/// machine-readable): a Spectre.Console progress bar when stderr is a terminal, otherwise a plain line at most every
/// <c>every</c> (a log or a test reading stderr gets lines it can parse, no escape codes). Thread-safe: the
/// operation reports from its own thread while the bar redraws on another.
/// </summary>
internal sealed class ProgressReport : IDisposable
{
    private readonly Lock _lock = new();
    private readonly string _title;
    private readonly string? _prefix;
    private readonly TimeSpan _every;
    private readonly TextWriter _error;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ManualResetEventSlim _stop = new();
    private readonly Task? _bar;
    private double _done;
    private double? _total;
    private string _detail = "";
    private TimeSpan? _printedAt;
    private bool _pending;
    private bool _disposed;

    private ProgressReport(string title, double? total, TimeSpan every, string? prefix, TextWriter error, bool terminal)
    {
        (_title, _total, _every, _prefix, _error) = (title, total, every, prefix, error);
        if (terminal)
        {
            _bar = Task.Factory.StartNew(RunBar, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
    }

    /// <summary>True when reports go to a bar (stderr is a terminal), false for plain lines.</summary>
    public bool IsBar => _bar is not null;

    /// <summary>
    /// Starts reporting <paramref name="title"/>. <paramref name="total"/> is the amount at completion (null: not known,
    /// the bar only counts up); plain lines are <c>prefix: detail</c> (no prefix: the detail alone), at most every
    /// <paramref name="every"/> (zero: every report). <paramref name="terminal"/> defaults to whether stderr is one.
    /// </summary>
    public static ProgressReport Start(string title, double? total, TimeSpan every, string? prefix, TextWriter? error = null, bool? terminal = null) =>
        new(title, total, every, prefix, error ?? Console.Error, terminal ?? !Console.IsErrorRedirected);

    /// <summary>Reports <paramref name="done"/> of the total and a one-line <paramref name="detail"/>.</summary>
    public void Report(double done, string detail)
    {
        string? line = null;
        lock (_lock)
        {
            (_done, _detail, _pending) = (done, detail, true);
            if (_bar is null && (_printedAt is not { } at || _clock.Elapsed - at >= _every))
            {
                line = Line();
            }
        }
        if (line is not null)
        {
            _error.WriteLine(line);
        }
    }

    /// <summary>The amount at completion, once it is known.</summary>
    public void SetTotal(double total)
    {
        lock (_lock)
        {
            _total = total;
        }
    }

    // Marks the report as printed; called under the lock.
    private string Line()
    {
        _printedAt = _clock.Elapsed;
        _pending = false;
        return _prefix is null ? _detail : $"{_prefix}: {_detail}";
    }

    private void RunBar()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(_error) });
        console.Progress().AutoClear(false).HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(_title), autoStart: true, maxValue: 1);
                while (true)
                {
                    var stopping = _stop.Wait(TimeSpan.FromMilliseconds(200));
                    lock (_lock)
                    {
                        task.IsIndeterminate = _total is null;
                        task.MaxValue = _total is > 0 ? _total.Value : 1;
                        task.Value = Math.Min(_done, task.MaxValue);
                        task.Description = Markup.Escape(_detail.Length == 0 ? _title : $"{_title}: {_detail}");
                    }
                    if (stopping)
                    {
                        task.StopTask();
                        ctx.Refresh();
                        return;
                    }
                }
            });
    }

    /// <summary>Ends the report: the bar's last state stays on screen; a plain report prints its last detail if unprinted.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (_bar is not null)
        {
            _stop.Set();
            _bar.GetAwaiter().GetResult();
        }
        else
        {
            string? line = null;
            lock (_lock)
            {
                if (_pending)
                {
                    line = Line();
                }
            }
            if (line is not null)
            {
                _error.WriteLine(line);
            }
        }
        _stop.Dispose();
    }
}
