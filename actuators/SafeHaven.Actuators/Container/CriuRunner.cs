using System.Diagnostics;
using System.Text;

namespace SafeHaven.Actuators.Container;

/// <summary>What one criu run did.</summary>
/// <param name="ExitCode">criu's exit code (-1 when it was killed on timeout).</param>
/// <param name="Output">stdout and stderr together, trimmed.</param>
/// <param name="ElapsedNs">Wall time from start to exit.</param>
public sealed record CriuRun(int ExitCode, string Output, long ElapsedNs)
{
    /// <summary>True on exit code 0.</summary>
    public bool Succeeded => ExitCode == 0;
}

/// <summary>Runs criu from an argument list (never a shell) and reads back why a run failed.</summary>
public static class CriuRunner
{
    /// <summary>The environment variable and value every criu run gets: no hardware breakpoints (see <see cref="Start"/>).</summary>
    public const string NoBreakpointsVariable = "CRIU_FAULT", NoBreakpointsValue = "130";

    /// <summary>Runs <paramref name="binary"/> with <paramref name="args"/> to completion, killing it past <paramref name="timeout"/>.</summary>
    public static async Task<CriuRun> RunAsync(string binary, IReadOnlyList<string> args, TimeSpan timeout, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        using var p = Start(binary, args, out var output);
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(timeout);
        try
        {
            await p.WaitForExitAsync(bound.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
            return new CriuRun(-1, $"killed after {timeout.TotalSeconds:0.#} s; {Text(output)}", ElapsedNs(started));
        }
        return new CriuRun(p.ExitCode, Text(output), ElapsedNs(started));
    }

    /// <summary>Starts a long-running criu (a lazy-pages dump, which serves pages until the target has them all).</summary>
    public static Process Start(string binary, IReadOnlyList<string> args, out StringBuilder output)
    {
        CriuArguments.RequireSafePath(binary, nameof(binary));
        var psi = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        // criu 4.1 stops a parasite at its sigreturn with a hardware breakpoint and never checks that the
        // hypervisor delivers the trap; where it does not (these VMs), dump and restore wait forever. Fault 130
        // (FI_NO_BREAKPOINTS) makes it step syscall by syscall instead, which criu 4.2 falls back to by itself.
        psi.Environment[NoBreakpointsVariable] = NoBreakpointsValue;
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        var p = Process.Start(psi) ?? throw new InvalidOperationException($"{binary} did not start");
        var sink = new StringBuilder();
        DataReceivedEventHandler append = (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (sink)
                {
                    sink.AppendLine(e.Data);
                }
            }
        };
        p.OutputDataReceived += append;
        p.ErrorDataReceived += append;
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        output = sink;
        return p;
    }

    /// <summary>
    /// The error lines of a criu log (at most <paramref name="max"/>, the first ones: later errors tend to be
    /// consequences), without the ones this machine always prints and that do no harm.
    /// </summary>
    public static string Errors(string logPath, int max = 3)
    {
        try
        {
            var errors = File.ReadLines(logPath)
                .Where(l => l.Contains("Error (", StringComparison.Ordinal) && !IsHarmless(l))
                .Take(max).Select(l => l.Trim()).ToList();
            return errors.Count == 0 ? "" : string.Join(" | ", errors);
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>The tail of a failed run's story: its log errors, else its output.</summary>
    public static string Why(CriuRun run, string logPath)
    {
        ArgumentNullException.ThrowIfNull(run);
        var errors = Errors(logPath);
        var text = errors.Length > 0 ? errors : run.Output;
        return $"exit {run.ExitCode}: {(text.Length > 600 ? text[..600] : text)}";
    }

    // Root without CAP_SYS_RESOURCE (this sandbox) cannot raise criu's own descriptor limit; criu goes on.
    private static bool IsHarmless(string line) => line.Contains("Can't setup RLIMIT_NOFILE for self", StringComparison.Ordinal);

    private static string Text(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString().Trim();
        }
    }

    private static long ElapsedNs(long started) => (long)(Stopwatch.GetElapsedTime(started).Ticks * 100);
}
