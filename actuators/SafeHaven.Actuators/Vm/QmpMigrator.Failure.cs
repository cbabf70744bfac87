using SafeHaven.Actuators.Agent;

namespace SafeHaven.Actuators.Vm;

public static partial class QmpMigrator
{
    // How long a requested switch may take to show: QEMU acts on it at its next iteration boundary (≤ 50 ms, more
    // on a loaded host).
    private static readonly TimeSpan SwitchSettle = TimeSpan.FromSeconds(1);

    // Cleanup gets its own budget, not the caller's token: an agent that is stopping must still leave exactly one
    // copy of the guest running.
    private static readonly TimeSpan CleanupBudget = TimeSpan.FromSeconds(10);

    /// <summary>What the failure path must know of the move it cleans up after.</summary>
    /// <param name="SwitchRequested">migrate-start-postcopy was sent (perhaps without a reply).</param>
    /// <param name="Since">When <c>migrate</c> was sent (client clock): events before it belong to earlier moves.</param>
    private readonly record struct FailureContext(bool SwitchRequested, long Since)
    {
        /// <summary>The migration completed but the destination proved unhealthy.</summary>
        public bool AfterCompletion { get; init; }
    }

    private static async Task<(string? Error, (long, long)? Beats)> VerifyAsync(QmpClient destination, string? serial,
        long? sourceLast, TimeSpan timeout, CancellationToken ct)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(timeout);
        try
        {
            var run = await StatusAsync(destination, "query-status", bound.Token).ConfigureAwait(false);
            if (run != "running")
            {
                return ($"destination status is '{run}', not running", null);
            }
        }
        catch (Exception e) when (e is QmpException or OperationCanceledException)
        {
            return ($"query-status on the destination failed: {e.Message}", null);
        }
        if (serial is null)
        {
            return (null, null);
        }
        // Under the same bound as the check above: the whole verification keeps one deadline.
        return await SerialHeartbeat.VerifyContinuesAsync(serial, sourceLast, timeout, bound.Token).ConfigureAwait(false);
    }

    // Puts the guest back at the source when that is still sound: before post-copy began, or after a completed move
    // whose destination proved unhealthy (the destination is stopped first: one copy runs). Cancelling a post-copy
    // would restart the source beside a destination that already resumed, so a switch that may land is waited for,
    // and a destination that resumed is never second-guessed.
    private static async Task<MigrationOutcome> FailAsync(QmpClient source, QmpClient destination, string error,
        Dictionary<string, long> phases, FailureContext move)
    {
        using var budget = new CancellationTokenSource(CleanupBudget);
        var token = budget.Token;
        try
        {
            var status = await StatusAsync(source, "query-migrate", token).ConfigureAwait(false);
            var settle = source.Time.GetTimestamp();
            while (move.SwitchRequested && status is "setup" or "active" && source.Time.GetElapsedTime(settle) < SwitchSettle)
            {
                await Task.Delay(20, token).ConfigureAwait(false);
                status = await StatusAsync(source, "query-migrate", token).ConfigureAwait(false);
            }
            var resumed = destination.Events.Any(e => e.ReceivedAt >= move.Since && e.Name == "RESUME");
            if (InPostcopy.Contains(status) || (!move.AfterCompletion && (status == "completed" || resumed)))
            {
                return new MigrationOutcome
                {
                    Error = $"{error}; post-copy had begun (source {status}, destination {(resumed ? "resumed" : "not resumed")}): guest state is split, recover with migrate-recover",
                    GuestAt = "split", PhasesNs = phases,
                };
            }
            if (!Ended.Contains(status) && status != "none")
            {
                await source.ExecuteAsync("migrate_cancel", null, token).ConfigureAwait(false);
            }
            await TryAsync(destination.ExecuteAsync("stop", null, token)).ConfigureAwait(false);
            if (await StatusAsync(source, "query-status", token).ConfigureAwait(false) != "running")
            {
                await source.ExecuteAsync("cont", null, token).ConfigureAwait(false);
            }
            return new MigrationOutcome { Error = $"{error}; guest kept running at the source (migration was {status})", GuestAt = "source", PhasesNs = phases };
        }
        catch (Exception e) when (e is QmpException or OperationCanceledException)
        {
            return new MigrationOutcome { Error = $"{error}; could not check or resume the source: {e.Message}", GuestAt = "unknown", PhasesNs = phases };
        }
    }

    private static async Task<string> StatusAsync(QmpClient qmp, string query, CancellationToken ct)
    {
        var info = await qmp.ExecuteAsync(query, null, ct).ConfigureAwait(false);
        return info.TryGetProperty("status", out var s) ? s.GetString() ?? "none" : "none";
    }

    private static async Task TryAsync(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception e) when (e is QmpException or OperationCanceledException)
        {
            // The destination may already be gone; the source matters here.
        }
    }
}
