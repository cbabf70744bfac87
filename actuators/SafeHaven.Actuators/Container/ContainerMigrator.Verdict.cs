namespace SafeHaven.Actuators.Container;

public static partial class ContainerMigrator
{
    // The target's verdict; past the deadline the source may resume only if it claims the decision first.
    private static async Task<(Outcome? Outcome, bool MayResume)> AwaitVerdictAsync(Handoff handoff, ContainerSite target, string name,
        CriuOptions options, CancellationToken ct)
    {
        var wait = options.PrepareTimeout + options.CriuTimeout + options.VerifyTimeout;
        var outcome = await WaitOrNullAsync(() => handoff.WaitOutcomeAsync(wait, ct)).ConfigureAwait(false);
        if (outcome is not null)
        {
            return (outcome, true);
        }
        string decision;
        try
        {
            decision = handoff.Decide("abort");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The meeting place is gone: nobody can decide there any more. A restore decided before it went is
            // registered by now (the target registers before it answers, within the wait), and then wins.
            return (new Outcome(handoff.MoveId, $"its meeting place is unusable ({e.Message})", null), !MayRunAt(target, name));
        }
        if (decision == "abort")
        {
            return (null, true);
        }
        // The target is restoring: its verdict will come, the copy here must not run meanwhile.
        outcome = await WaitOrNullAsync(() => handoff.WaitOutcomeAsync(options.CriuTimeout + options.VerifyTimeout, CancellationToken.None)).ConfigureAwait(false);
        return (outcome, outcome is not null);
    }

    // True unless the site's registry shows the container not running there (an unreadable registry may hide it).
    private static bool MayRunAt(ContainerSite site, string name)
    {
        try
        {
            return site.Load(name) is { IsRunning: true };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException
            or System.Text.Json.JsonException)
        {
            return true;
        }
    }

    private static async Task<Outcome?> WaitOrNullAsync(Func<Task<Outcome?>> wait)
    {
        try
        {
            return await wait().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }
}
