using System.Text.Json;
using System.Text.Json.Nodes;

namespace SafeHaven.Actuators.Vm;

/// <summary>
/// Live-migrates a guest between two QEMU processes through their QMP sockets: post-copy after a short
/// pre-copy by default. The destination must already run with <c>-incoming defer</c>. A failure before the
/// switchover leaves (or puts back) the guest running at the source.
/// </summary>
public static class QmpMigrator
{
    private static readonly string[] Ended = ["completed", "failed", "cancelled"];
    private static readonly string[] InPostcopy = ["postcopy-active", "postcopy-paused", "postcopy-recover"];

    /// <summary>Migrates from <paramref name="source"/> to <paramref name="destination"/> over <paramref name="uri"/>, then verifies.</summary>
    /// <param name="source">QMP of the running guest.</param>
    /// <param name="destination">QMP of the <c>-incoming defer</c> twin; both clients must share one clock.</param>
    /// <param name="uri">Migration channel, <c>unix:PATH</c> or <c>tcp:127.0.0.1:PORT</c>.</param>
    /// <param name="destinationSerial">The destination's serial file: the heartbeat must grow there (skipped when null).</param>
    /// <param name="sourceLastHeartbeat">The last beat seen at the source; the destination must continue from it.</param>
    /// <param name="options">Limits and mode.</param>
    /// <param name="ct">Aborts the wait; the guest is then put back at the source when still possible.</param>
    public static async Task<MigrationOutcome> MigrateAsync(QmpClient source, QmpClient destination, string uri,
        string? destinationSerial, long? sourceLastHeartbeat, MigrationOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(options);
        if (!uri.StartsWith("unix:/", StringComparison.Ordinal) && !uri.StartsWith("tcp:127.0.0.1:", StringComparison.Ordinal))
        {
            throw new ArgumentException($"migration uri '{uri}' is neither unix:/PATH nor tcp:127.0.0.1:PORT", nameof(uri));
        }
        var time = source.Time;
        var t0 = time.GetTimestamp();
        var phases = new Dictionary<string, long>();
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(options.Timeout);
        var token = bound.Token;
        long tMigrate = 0, bytes = 0;
        var postcopyRequested = false;
        string status = "none";
        try
        {
            JsonArray Caps() =>
            [
                new JsonObject { ["capability"] = "postcopy-ram", ["state"] = options.Postcopy },
                new JsonObject { ["capability"] = "events", ["state"] = true },
            ];
            await source.ExecuteAsync("migrate-set-capabilities", new() { ["capabilities"] = Caps() }, token).ConfigureAwait(false);
            await destination.ExecuteAsync("migrate-set-capabilities", new() { ["capabilities"] = Caps() }, token).ConfigureAwait(false);
            var parameters = new JsonObject
            {
                ["max-bandwidth"] = options.PrecopyBandwidthBytesPerSecond,
                ["downtime-limit"] = options.DowntimeLimitMs,
            };
            if (options.Postcopy)
            {
                parameters["max-postcopy-bandwidth"] = options.MaxBandwidthBytesPerSecond;
            }
            await source.ExecuteAsync("migrate-set-parameters", parameters, token).ConfigureAwait(false);
            await destination.ExecuteAsync("migrate-incoming", new() { ["uri"] = uri }, token).ConfigureAwait(false);
            tMigrate = time.GetTimestamp();
            await source.ExecuteAsync("migrate", new() { ["uri"] = uri }, token).ConfigureAwait(false);
            phases["setup"] = Ns(time, t0, tMigrate);
            if (options.SwitchesAtOnce)
            {
                // QEMU reads the request between iterations only: sent while the migration is still in setup, it
                // is seen before the first pass; sent later, a loaded QEMU 7.2 may finish the first pass first.
                await source.ExecuteAsync("migrate-start-postcopy", null, token).ConfigureAwait(false);
                postcopyRequested = true;
            }

            while (true)
            {
                var info = await source.ExecuteAsync("query-migrate", null, token).ConfigureAwait(false);
                status = info.TryGetProperty("status", out var s) ? s.GetString() ?? "none" : "none";
                bytes = Bytes(info) ?? bytes;
                if (Ended.Contains(status))
                {
                    break;
                }
                if (options.Postcopy && !postcopyRequested && PassesDone(source, tMigrate) >= options.PrecopyPassesBeforePostcopy)
                {
                    await source.ExecuteAsync("migrate-start-postcopy", null, token).ConfigureAwait(false);
                    postcopyRequested = true;
                }
                await Task.Delay(5, token).ConfigureAwait(false);
            }
            var completedAt = time.GetTimestamp();
            if (status != "completed")
            {
                var info = await source.ExecuteAsync("query-migrate", null, token).ConfigureAwait(false);
                var why = info.TryGetProperty("error-desc", out var d) ? d.GetString() : status;
                return await FailAsync(source, destination, $"migration {status}: {why}", phases, ct).ConfigureAwait(false);
            }
            using var eventWait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            eventWait.CancelAfter(TimeSpan.FromSeconds(10));
            var stop = await source.WaitForEventAsync(e => e.Name == "STOP", tMigrate, eventWait.Token).ConfigureAwait(false);
            var resume = await destination.WaitForEventAsync(e => e.Name == "RESUME", tMigrate, eventWait.Token).ConfigureAwait(false);
            var postcopy = source.Events.Any(e => e.ReceivedAt >= tMigrate && e.IsMigration("postcopy-active"));
            phases["precopy"] = Ns(time, tMigrate, stop.ReceivedAt);
            // QEMU's own stamps when it gave them: a busy destination may deliver RESUME to a monitor late.
            phases["switchover"] = Downtime(stop, resume, Ns(time, stop.ReceivedAt, resume.ReceivedAt));
            if (postcopy)
            {
                phases["postcopy"] = Math.Max(0, Ns(time, resume.ReceivedAt, completedAt));
            }
            var total = Ns(time, t0, Math.Max(completedAt, resume.ReceivedAt));

            var verifyStart = time.GetTimestamp();
            var problem = await VerifyAsync(destination, destinationSerial, sourceLastHeartbeat, options.VerifyTimeout, ct).ConfigureAwait(false);
            phases["verify"] = Ns(time, verifyStart, time.GetTimestamp());
            if (problem.Error is not null)
            {
                // The source still holds the guest as of its STOP (no release-ram): fall back to it.
                return await FailAsync(source, destination, $"destination unhealthy after migration: {problem.Error}", phases, ct, evenAfterCompletion: true).ConfigureAwait(false);
            }
            return new MigrationOutcome
            {
                Succeeded = true, GuestAt = "destination", PhasesNs = phases, TotalNs = total, BytesTransferred = bytes,
                DowntimeNs = phases["switchover"], Mode = postcopy ? "postcopy" : "precopy", DestinationHeartbeats = problem.Beats,
            };
        }
        catch (Exception e) when (e is QmpException or OperationCanceledException or JsonException or InvalidOperationException)
        {
            var why = e is OperationCanceledException ? $"timed out or cancelled (status {status})" : e.Message;
            return await FailAsync(source, destination, why, phases, ct).ConfigureAwait(false);
        }
    }

    private static int PassesDone(QmpClient source, long since) =>
        source.Events.Where(e => e.ReceivedAt >= since && e.Name == "MIGRATION_PASS")
            .Select(e => e.Data.TryGetProperty("pass", out var p) && p.TryGetInt32(out var n) ? n - 1 : 0)
            .DefaultIfEmpty(0).Max();

    private static long? Bytes(JsonElement info) =>
        info.TryGetProperty("ram", out var ram) && ram.TryGetProperty("transferred", out var t) && t.TryGetInt64(out var b) ? b : null;

    private static async Task<(string? Error, (long, long)? Beats)> VerifyAsync(QmpClient destination, string? serial,
        long? sourceLast, TimeSpan timeout, CancellationToken ct)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(timeout);
        try
        {
            var state = await destination.ExecuteAsync("query-status", null, bound.Token).ConfigureAwait(false);
            var run = state.TryGetProperty("status", out var s) ? s.GetString() : null;
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

    // Puts the guest back at the source when that is still sound: before post-copy began, or after a
    // completed move whose destination proved unhealthy (the destination is stopped first: one copy runs).
    private static async Task<MigrationOutcome> FailAsync(QmpClient source, QmpClient destination, string error,
        Dictionary<string, long> phases, CancellationToken ct, bool evenAfterCompletion = false)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            var info = await source.ExecuteAsync("query-migrate", null, bound.Token).ConfigureAwait(false);
            var status = info.TryGetProperty("status", out var s) ? s.GetString() ?? "" : "";
            if (InPostcopy.Contains(status) || (status == "completed" && !evenAfterCompletion))
            {
                return new MigrationOutcome { Error = $"{error}; post-copy had begun (status {status}): guest state is split, recover with migrate-recover", GuestAt = "split", PhasesNs = phases };
            }
            if (!Ended.Contains(status) && status != "none")
            {
                await source.ExecuteAsync("migrate_cancel", null, bound.Token).ConfigureAwait(false);
            }
            await TryAsync(destination.ExecuteAsync("stop", null, bound.Token)).ConfigureAwait(false);
            var run = await source.ExecuteAsync("query-status", null, bound.Token).ConfigureAwait(false);
            if (run.TryGetProperty("status", out var r) && r.GetString() != "running")
            {
                await source.ExecuteAsync("cont", null, bound.Token).ConfigureAwait(false);
            }
            return new MigrationOutcome { Error = $"{error}; guest kept running at the source", GuestAt = "source", PhasesNs = phases };
        }
        catch (Exception e) when (e is QmpException or OperationCanceledException)
        {
            return new MigrationOutcome { Error = $"{error}; could not check or resume the source: {e.Message}", GuestAt = "unknown", PhasesNs = phases };
        }
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

    private static long Ns(TimeProvider time, long from, long to) => (long)time.GetElapsedTime(from, to).Ticks * 100;

    // Destination RESUME − source STOP, on QEMU's own event stamps when both have them (the
    // receive times also include how late each client read its socket).
    private static long Downtime(QmpEvent stop, QmpEvent resume, long receivedDifferenceNs) =>
        stop.EmittedAtUs is { } s && resume.EmittedAtUs is { } r && r >= s ? (r - s) * 1000 : receivedDifferenceNs;
}
