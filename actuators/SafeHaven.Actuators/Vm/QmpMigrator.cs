using System.Text.Json;
using System.Text.Json.Nodes;

namespace SafeHaven.Actuators.Vm;

/// <summary>
/// Live-migrates a guest between two QEMU processes through their QMP sockets: post-copy after one pre-copy
/// iteration by default (see <see cref="MigrationOptions.PrecopyPassesBeforePostcopy"/>). The destination must
/// already run with <c>-incoming defer</c>. A failure before the switchover leaves (or puts back) the guest
/// running at the source.
/// </summary>
public static partial class QmpMigrator
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
                ["max-bandwidth"] = options.PrecopyBandwidth,
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

            while (true)
            {
                var info = await source.ExecuteAsync("query-migrate", null, token).ConfigureAwait(false);
                status = info.TryGetProperty("status", out var s) ? s.GetString() ?? "none" : "none";
                bytes = Bytes(info) ?? bytes;
                if (Ended.Contains(status))
                {
                    break;
                }
                // QEMU reads the request between iterations. Asked while a pass runs, it switches when that iteration
                // ends; asked in setup, before any page went in bulk; asked after the pass, a small guest is across.
                if (options.Postcopy && !postcopyRequested && status == "active" && PassesDone(source, tMigrate) >= options.PrecopyPassesBeforePostcopy)
                {
                    // Marked before it is sent: a request cut short by a timeout may still be acted on.
                    postcopyRequested = true;
                    await source.ExecuteAsync("migrate-start-postcopy", null, token).ConfigureAwait(false);
                }
                await Task.Delay(5, token).ConfigureAwait(false);
            }
            var completedAt = time.GetTimestamp();
            if (status != "completed")
            {
                var info = await source.ExecuteAsync("query-migrate", null, token).ConfigureAwait(false);
                var why = info.TryGetProperty("error-desc", out var d) ? d.GetString() : status;
                return await FailAsync(source, destination, $"migration {status}: {why}", phases, new(postcopyRequested, tMigrate)).ConfigureAwait(false);
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
                return await FailAsync(source, destination, $"destination unhealthy after migration: {problem.Error}", phases,
                    new(postcopyRequested, tMigrate) { AfterCompletion = true }).ConfigureAwait(false);
            }
            return new MigrationOutcome
            {
                Succeeded = true, GuestAt = "destination", PhasesNs = phases, TotalNs = total, BytesTransferred = bytes,
                DowntimeNs = phases["switchover"], Mode = postcopy ? "postcopy" : "precopy", DestinationHeartbeats = problem.Beats,
            };
        }
        catch (Exception e) when (e is QmpException or OperationCanceledException or JsonException or InvalidOperationException)
        {
            var why = e is OperationCanceledException ? $"timed out or cancelled (last status seen: {status})" : e.Message;
            return await FailAsync(source, destination, why, phases, new(postcopyRequested, tMigrate)).ConfigureAwait(false);
        }
    }

    private static int PassesDone(QmpClient source, long since) =>
        source.Events.Where(e => e.ReceivedAt >= since && e.Name == "MIGRATION_PASS")
            .Select(e => e.Data.TryGetProperty("pass", out var p) && p.TryGetInt32(out var n) ? n - 1 : 0)
            .DefaultIfEmpty(0).Max();

    private static long? Bytes(JsonElement info) =>
        info.TryGetProperty("ram", out var ram) && ram.TryGetProperty("transferred", out var t) && t.TryGetInt64(out var b) ? b : null;

    private static long Ns(TimeProvider time, long from, long to) => (long)time.GetElapsedTime(from, to).Ticks * 100;

    // Destination RESUME − source STOP, on QEMU's own event stamps when both have them (the
    // receive times also include how late each client read its socket).
    private static long Downtime(QmpEvent stop, QmpEvent resume, long receivedDifferenceNs) =>
        stop.EmittedAtUs is { } s && resume.EmittedAtUs is { } r && r >= s ? (r - s) * 1000 : receivedDifferenceNs;
}
