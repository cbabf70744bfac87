using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Kafka.Clients;

namespace SafeHaven.Cli.Runtime;

/// <summary>
/// Runs the roles of one process until the command line's token (SIGINT, SIGTERM), the duration, or the death of any
/// role. A dead role makes the process exit 1 within <see cref="FailureExit"/>; a stop request makes it exit 0 within
/// <see cref="StopExit"/>, broker up or gone: stopping waits <see cref="StopBudget"/> for the roles, then abandons them
/// (the agents' journals reconcile an abandoned move on restart), and a watchdog ends the process if even that hangs.
/// </summary>
internal static partial class RoleHost
{
    /// <summary>How long the roles get to stop cleanly before they are abandoned.</summary>
    public static readonly TimeSpan StopBudget = TimeSpan.FromSeconds(3);

    /// <summary>The bound from a role's death to the process's exit.</summary>
    public static readonly TimeSpan FailureExit = TimeSpan.FromSeconds(4);

    /// <summary>The bound from a stop request to the process's exit.</summary>
    public static readonly TimeSpan StopExit = TimeSpan.FromSeconds(6);

    /// <summary>Starts <paramref name="app"/>, waits, stops it; returns the exit code.</summary>
    public static async Task<int> RunAsync(IHost app, TimeSpan? duration, CancellationToken ct)
    {
        var failures = app.Services.GetRequiredService<RoleFailures>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("SafeHaven.Cli.RoleHost");
        // Whatever else happens after a stop request (a start that hangs on a gone broker included), the process ends.
        using var onStop = ct.Register(() => ExitWatchdog.Arm(ExitCodes.Ok, StopExit));
        var stopping = 0;
        try
        {
            await app.StartAsync(ct).ConfigureAwait(false);
        }
        catch (Exception e) when (!ct.IsCancellationRequested && e is not OutOfMemoryException)
        {
            // A role that dies while the others still start makes the host's start throw (a stream's start then finds
            // its token source disposed): the process must still report a death and exit 1, not crash on the start.
            failures.Report("host", $"start failed: {e.GetType().Name}: {e.Message}");
        }
        foreach (var service in app.Services.GetServices<IHostedService>().OfType<BackgroundService>())
        {
            // A role's loop ends only when asked to: ending on its own, by an exception or not, is its death.
            _ = service.ExecuteTask?.ContinueWith(t =>
            {
                if (Volatile.Read(ref stopping) == 0)
                {
                    failures.Report(service.GetType().Name, t.Exception?.GetBaseException() is { } e
                        ? $"{e.GetType().Name}: {e.Message}" : "its loop ended without being asked to stop");
                }
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        await Task.WhenAny(Wait.UntilCancelledOr(duration, ct), failures.First).ConfigureAwait(false);
        Volatile.Write(ref stopping, 1);
        var code = failures.Failed ? ExitCodes.Failure : ExitCodes.Ok;
        ExitWatchdog.Arm(code, code == ExitCodes.Ok ? StopExit : FailureExit);
        if (code != ExitCodes.Ok)
        {
            var reason = await failures.First.ConfigureAwait(false);
            LogRoleDied(logger, reason);
        }
        using var budget = new CancellationTokenSource(code == ExitCodes.Ok ? StopBudget : FailureExit / 2);
        try
        {
            await app.StopAsync(budget.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            LogAbandoned(logger, budget.Token.IsCancellationRequested ? "did not stop in time" : "stop was cancelled");
        }
        return code;
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "a role died, exiting 1: {Reason}")]
    private static partial void LogRoleDied(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "roles {Why}: abandoning them (agents reconcile from their journals on restart)")]
    private static partial void LogAbandoned(ILogger logger, string why);
}

/// <summary>Ends the process with a given code if it is still running after a delay (shutdown that hangs).</summary>
internal static class ExitWatchdog
{
    private static int _armed;

    /// <summary>After <paramref name="after"/>, exits with <paramref name="code"/> unless the process has ended; the first arm wins.</summary>
    public static void Arm(int code, TimeSpan after)
    {
        if (Interlocked.Exchange(ref _armed, 1) == 1)
        {
            return;
        }
        // A thread of its own: on 2 busy cores a pool timer can wait seconds for a thread (docs/MACHINE.md).
        var thread = new Thread(() =>
        {
            // Nothing ever sets the event: the wait is the watchdog's whole job, on a thread of its own.
            using var never = new ManualResetEventSlim();
            never.Wait(after);
            Console.Error.WriteLine($"safehaven: shutdown took longer than {after.TotalSeconds:F1} s; exiting {code}");
            Environment.Exit(code);
        })
        { IsBackground = true, Name = "exit-watchdog" };
        thread.Start();
    }
}
