namespace SafeHaven.Cli.Runtime;

/// <summary>Waiting for Ctrl-C (SIGINT/SIGTERM arrive as cancellation) or a duration.</summary>
internal static class Wait
{
    public static async Task UntilCancelledOr(TimeSpan? duration, CancellationToken ct)
    {
        try
        {
            await Task.Delay(duration ?? Timeout.InfiniteTimeSpan, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }
}
