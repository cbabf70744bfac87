using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using SafeHaven.Cli.Tests.Pipeline;

namespace SafeHaven.Cli.Tests.Commands;

/// <summary>A CLI verb run as a child process, its stderr kept, with waits for a line and for its exit.</summary>
internal sealed class RoleProcess
{
    private readonly ConcurrentQueue<string> _stderr = new();
    private readonly ConcurrentQueue<(string Needle, TaskCompletionSource<TimeSpan> Seen)> _waits = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly TaskCompletionSource<string> _firstStdout = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private RoleProcess(Process process) => Process = process;

    public Process Process { get; }

    public string Stderr => string.Join('\n', _stderr);

    /// <summary>The first line the process printed on stdout (the broker's "bootstrap: …").</summary>
    public Task<string> FirstStdoutLine => _firstStdout.Task;

    /// <summary>Starts <paramref name="args"/> under <paramref name="w"/> (killed on dispose), with extra environment variables.</summary>
    public static RoleProcess Start(Workloads w, string[] args, params (string Name, string Value)[] environment)
    {
        var info = CliRunner.StartInfo(args);
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }
        var role = new RoleProcess(w.Start(info, drained: false));
        role.Process.StandardInput.Close();
        role.Process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not { } line)
            {
                return;
            }
            role._stderr.Enqueue(line);
            foreach (var (needle, seen) in role._waits)
            {
                if (line.Contains(needle, StringComparison.Ordinal))
                {
                    seen.TrySetResult(role._clock.Elapsed);
                }
            }
        };
        role.Process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                role._firstStdout.TrySetResult(line);
            }
        };
        role.Process.BeginErrorReadLine();
        role.Process.BeginOutputReadLine();
        return role;
    }

    /// <summary>Waits until a stderr line contains <paramref name="needle"/> (one seen already counts); returns when, on this role's clock.</summary>
    public async Task<TimeSpan> LineAsync(string needle, TimeSpan timeout)
    {
        var seen = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waits.Enqueue((needle, seen));
        if (_stderr.Any(l => l.Contains(needle, StringComparison.Ordinal)))
        {
            seen.TrySetResult(_clock.Elapsed);
        }
        var exited = Process.WaitForExitAsync();
        var first = await Task.WhenAny(seen.Task, exited).WaitAsync(timeout);
        return first == seen.Task || seen.Task.IsCompleted
            ? await seen.Task
            : throw new InvalidOperationException($"exited {Process.ExitCode} before printing '{needle}'; stderr:\n{Stderr}");
    }

    /// <summary>Waits for the exit (at most <paramref name="timeout"/>) and returns when it happened, on this role's clock.</summary>
    public async Task<TimeSpan> ExitAsync(TimeSpan timeout)
    {
        if (!await CliRunner.ExitedAsync(Process, timeout))
        {
            throw new TimeoutException($"still running {timeout.TotalSeconds} s later ({Whereabouts()}); stderr:\n{Stderr}");
        }
        var at = _clock.Elapsed;
        try
        {
            // The rest of its stderr for the messages: the pipes drain just after the exit.
            await Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            _stderr.Enqueue("(test: stderr still open 5 s after the exit)");
        }
        return at;
    }

    // Why a wait for the exit timed out: the process gone but its output pipes held open elsewhere, or each of its threads'
    // state and kernel stack (a verb still running, or a process the kernel is still tearing down: zombie, exit frames).
    private string Whereabouts()
    {
        try
        {
            return string.Join("; ", Directory.GetDirectories($"/proc/{Process.Id}/task").Select(task =>
            {
                var stat = File.ReadAllText(Path.Join(task, "stat"));
                var stack = File.Exists(Path.Join(task, "stack")) ? File.ReadAllText(Path.Join(task, "stack")).Split('\n', 4) : [];
                return $"{stat[..(stat.LastIndexOf(')') + 3)]} {string.Join(" < ", stack.Take(3).Select(f => f.Trim()))}";
            }));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"threads unreadable: {e.Message}";
        }
    }

    /// <summary>Sends SIGTERM, the way a supervisor asks a service to stop; returns when, on this role's clock.</summary>
    public async Task<TimeSpan> TerminateAsync()
    {
        var at = _clock.Elapsed;
        using var kill = Process.Start("/bin/kill", ["-TERM", Process.Id.ToString(CultureInfo.InvariantCulture)]);
        Assert.True(await CliRunner.ExitedAsync(kill, TimeSpan.FromSeconds(60)), "/bin/kill still running 60 s later");
        return at;
    }
}
