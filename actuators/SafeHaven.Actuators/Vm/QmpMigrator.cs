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
        var move = new QmpMove(source, destination, options);
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(options.Timeout);
        var token = bound.Token;
        try
        {
            await ConfigureAsync(move, token).ConfigureAwait(false);
            await StartAsync(move, uri, token).ConfigureAwait(false);
            await FollowUntilEndedAsync(move, token).ConfigureAwait(false);
            var completedAt = move.Time.GetTimestamp();
            if (move.Status != "completed")
            {
                var info = await source.ExecuteAsync("query-migrate", null, token).ConfigureAwait(false);
                var why = info.TryGetProperty("error-desc", out var d) ? d.GetString() : move.Status;
                return await FailAsync(source, destination, $"migration {move.Status}: {why}", move.Phases, move.Failure).ConfigureAwait(false);
            }
            var (postcopy, total) = await MeasureSwitchoverAsync(move, completedAt, ct).ConfigureAwait(false);
            return await VerifyDestinationAsync(move, destinationSerial, sourceLastHeartbeat, postcopy, total, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is QmpException or OperationCanceledException or JsonException or InvalidOperationException)
        {
            var why = e is OperationCanceledException ? $"timed out or cancelled (last status seen: {move.Status})" : e.Message;
            return await FailAsync(source, destination, why, move.Phases, move.Failure).ConfigureAwait(false);
        }
    }

    // Capabilities on both sides (post-copy as configured, events always), bandwidth and downtime at the source.
    private static async Task ConfigureAsync(QmpMove move, CancellationToken token)
    {
        var options = move.Options;
        JsonArray Caps() =>
        [
            new JsonObject { ["capability"] = "postcopy-ram", ["state"] = options.Postcopy },
            new JsonObject { ["capability"] = "events", ["state"] = true },
        ];
        await move.Source.ExecuteAsync("migrate-set-capabilities", new() { ["capabilities"] = Caps() }, token).ConfigureAwait(false);
        await move.Destination.ExecuteAsync("migrate-set-capabilities", new() { ["capabilities"] = Caps() }, token).ConfigureAwait(false);
        var parameters = new JsonObject
        {
            ["max-bandwidth"] = options.PrecopyBandwidth,
            ["downtime-limit"] = options.DowntimeLimitMs,
        };
        if (options.Postcopy)
        {
            parameters["max-postcopy-bandwidth"] = options.MaxBandwidthBytesPerSecond;
        }
        await move.Source.ExecuteAsync("migrate-set-parameters", parameters, token).ConfigureAwait(false);
    }

    private static async Task StartAsync(QmpMove move, string uri, CancellationToken token)
    {
        await move.Destination.ExecuteAsync("migrate-incoming", new() { ["uri"] = uri }, token).ConfigureAwait(false);
        move.MigrateSentAt = move.Time.GetTimestamp();
        await move.Source.ExecuteAsync("migrate", new() { ["uri"] = uri }, token).ConfigureAwait(false);
        move.Phases["setup"] = Ns(move.Time, move.StartedAt, move.MigrateSentAt);
    }

    // Polls the source until the migration ends, asking for the switch to post-copy after the configured passes.
    private static async Task FollowUntilEndedAsync(QmpMove move, CancellationToken token)
    {
        var (source, options) = (move.Source, move.Options);
        while (true)
        {
            var info = await source.ExecuteAsync("query-migrate", null, token).ConfigureAwait(false);
            move.Status = info.TryGetProperty("status", out var s) ? s.GetString() ?? "none" : "none";
            move.Bytes = Bytes(info) ?? move.Bytes;
            if (Ended.Contains(move.Status))
            {
                return;
            }
            // QEMU reads the request between iterations. Asked while a pass runs, it switches when that iteration
            // ends; asked in setup, before any page went in bulk; asked after the pass, a small guest is across.
            if (options.Postcopy && !move.PostcopyRequested && move.Status == "active"
                && PassesDone(source, move.MigrateSentAt) >= options.PrecopyPassesBeforePostcopy)
            {
                // Marked before it is sent: a request cut short by a timeout may still be acted on.
                move.PostcopyRequested = true;
                await source.ExecuteAsync("migrate-start-postcopy", null, token).ConfigureAwait(false);
            }
            await Task.Delay(5, token).ConfigureAwait(false);
        }
    }

    // The phases from the source's STOP and the destination's RESUME; whether QEMU switched to post-copy; the total.
    private static async Task<(bool Postcopy, long TotalNs)> MeasureSwitchoverAsync(QmpMove move, long completedAt, CancellationToken ct)
    {
        var (time, since) = (move.Time, move.MigrateSentAt);
        using var eventWait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        eventWait.CancelAfter(TimeSpan.FromSeconds(10));
        var stop = await move.Source.WaitForEventAsync(e => e.Name == "STOP", since, eventWait.Token).ConfigureAwait(false);
        var resume = await move.Destination.WaitForEventAsync(e => e.Name == "RESUME", since, eventWait.Token).ConfigureAwait(false);
        var postcopy = move.Source.Events.Any(e => e.ReceivedAt >= since && e.IsMigration("postcopy-active"));
        move.Phases["precopy"] = Ns(time, since, stop.ReceivedAt);
        // QEMU's own stamps when it gave them: a busy destination may deliver RESUME to a monitor late.
        move.Phases["switchover"] = Downtime(stop, resume, Ns(time, stop.ReceivedAt, resume.ReceivedAt));
        if (postcopy)
        {
            move.Phases["postcopy"] = Math.Max(0, Ns(time, resume.ReceivedAt, completedAt));
        }
        return (postcopy, Ns(time, move.StartedAt, Math.Max(completedAt, resume.ReceivedAt)));
    }

    private static async Task<MigrationOutcome> VerifyDestinationAsync(QmpMove move, string? destinationSerial, long? sourceLastHeartbeat,
        bool postcopy, long total, CancellationToken ct)
    {
        var time = move.Time;
        var verifyStart = time.GetTimestamp();
        var problem = await VerifyAsync(move.Destination, destinationSerial, sourceLastHeartbeat, move.Options.VerifyTimeout, ct).ConfigureAwait(false);
        move.Phases["verify"] = Ns(time, verifyStart, time.GetTimestamp());
        if (problem.Error is not null)
        {
            // The source still holds the guest as of its STOP (no release-ram): fall back to it.
            return await FailAsync(move.Source, move.Destination, $"destination unhealthy after migration: {problem.Error}", move.Phases,
                move.Failure with { AfterCompletion = true }).ConfigureAwait(false);
        }
        return new MigrationOutcome
        {
            Succeeded = true, GuestAt = "destination", PhasesNs = move.Phases, TotalNs = total, BytesTransferred = move.Bytes,
            DowntimeNs = move.Phases["switchover"], Mode = postcopy ? "postcopy" : "precopy", DestinationHeartbeats = problem.Beats,
        };
    }

    // One migration in progress: what each step of MigrateAsync learns, for the steps after it and the cleanup.
    private sealed class QmpMove(QmpClient source, QmpClient destination, MigrationOptions options)
    {
        public QmpClient Source { get; } = source;

        public QmpClient Destination { get; } = destination;

        public MigrationOptions Options { get; } = options;

        public TimeProvider Time { get; } = source.Time;

        public long StartedAt { get; } = source.Time.GetTimestamp();

        public Dictionary<string, long> Phases { get; } = [];

        /// <summary>When <c>migrate</c> was sent (client clock); 0 before.</summary>
        public long MigrateSentAt { get; set; }

        public long Bytes { get; set; }

        public bool PostcopyRequested { get; set; }

        /// <summary>The last status the source reported.</summary>
        public string Status { get; set; } = "none";

        public FailureContext Failure => new(PostcopyRequested, MigrateSentAt);
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
