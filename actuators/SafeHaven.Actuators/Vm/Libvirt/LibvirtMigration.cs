using System.Globalization;
using System.Text.RegularExpressions;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Vm.Libvirt;

/// <summary>The steps of <see cref="LibvirtMigrator.MigrateAsync"/>: run virsh migrate, switch to post-copy, read the figures.</summary>
internal static partial class LibvirtMigration
{
    // Without any event by then the watcher missed the start: fall back to asking for post-copy blindly.
    private static readonly TimeSpan BlindAfter = TimeSpan.FromSeconds(3);

    /// <summary>Matches a <c>MIGRATION</c> event with <paramref name="status"/>.</summary>
    public static Func<QmpEvent, bool> Status(string status) => e => e.IsMigration(status);

    /// <summary>Runs <c>virsh migrate</c> to its end, requesting post-copy on the way; Error is null on success.</summary>
    public static async Task<(string? Error, bool PostcopyRequested)> RunAsync(LibvirtConnection source, LibvirtConnection destination,
        string name, string destXmlPath, string? migrateUri, MigrationOptions options, LibvirtEventWatch srcEvents, CancellationToken token)
    {
        using var migrate = Virsh.Start(source.VirshBinary, source.Uri, MigrateArguments(name, destination.Uri.Value, destXmlPath, migrateUri, options));
        var stderr = migrate.StandardError.ReadToEndAsync(CancellationToken.None);
        var stdout = migrate.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var exited = migrate.WaitForExitAsync(CancellationToken.None);
        var requested = false;
        try
        {
            if (options.Postcopy)
            {
                requested = await RequestPostcopyAsync(source, name, options.PrecopyPassesBeforePostcopy, srcEvents, exited, token).ConfigureAwait(false);
            }
            await exited.WaitAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Only a pre-copy can be aborted (libvirt refuses once post-copy began; the failure path then reports the split).
            using var abort = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await Quietly(source.RunAsync(["domjobabort", name], abort.Token)).ConfigureAwait(false);
            await Quietly(exited.WaitAsync(abort.Token)).ConfigureAwait(false);
            Virsh.Kill(migrate);
            return ($"timed out or cancelled; {Line(await stderr.ConfigureAwait(false))}", requested);
        }
        await stdout.ConfigureAwait(false);
        var error = Line(await stderr.ConfigureAwait(false));
        return migrate.ExitCode == 0 ? (null, requested) : ($"virsh migrate exited with {migrate.ExitCode}: {error}", requested);
    }

    // migrate-postcopy once QEMU's migration runs (PASSES == 0) or has done PASSES pre-copy passes.
    private static async Task<bool> RequestPostcopyAsync(LibvirtConnection source, string name, int passes,
        LibvirtEventWatch events, Task exited, CancellationToken token)
    {
        var time = TimeProvider.System;
        var start = time.GetTimestamp();
        var lastBlind = start;
        while (!exited.IsCompleted)
        {
            token.ThrowIfCancellationRequested();
            var seen = events.Events;
            var ready = passes == 0 ? seen.Any(e => e.Name == "MIGRATION") : PassesDone(seen) >= passes;
            var blind = !ready && seen.Count == 0 && time.GetElapsedTime(start) > BlindAfter && time.GetElapsedTime(lastBlind) > TimeSpan.FromMilliseconds(100);
            if (ready || blind)
            {
                lastBlind = time.GetTimestamp();
                var r = await source.RunAsync(["migrate-postcopy", name], token).ConfigureAwait(false);
                if (r.Ok)
                {
                    return true;
                }
            }
            await Task.WhenAny(exited, Task.Delay(ready ? 20 : 5, token)).ConfigureAwait(false);
        }
        return false;
    }

    private static int PassesDone(IReadOnlyList<QmpEvent> events) =>
        events.Where(e => e.Name == "MIGRATION_PASS")
            .Select(e => e.Data.TryGetProperty("pass", out var p) && p.TryGetInt32(out var n) ? n - 1 : 0)
            .DefaultIfEmpty(0).Max();

    /// <summary>
    /// Makes a verified move of a persistent guest persistent at the destination and removes the source's (now shut off)
    /// definition: one home per guest. Returns what went wrong, or null.
    /// </summary>
    public static async Task<string?> MovePersistenceAsync(LibvirtConnection source, LibvirtConnection destination, string name,
        string destinationXml, CancellationToken ct)
    {
        var defined = await destination.RunAsync(["define", "/dev/stdin"], ct, destinationXml).ConfigureAwait(false);
        if (!defined.Ok)
        {
            return $"migrated and verified, but the destination could not keep the definition (the source keeps it): {defined.Error}";
        }
        var undefined = await source.RunAsync(["undefine", name], ct).ConfigureAwait(false);
        return undefined.Ok ? null : $"migrated and verified, but the source's definition could not be removed: {undefined.Error}";
    }

    /// <summary>Bytes sent and libvirt's downtime figure from the completed job's statistics (0 / null when none were kept).</summary>
    public static async Task<(long Bytes, long? DowntimeNs)> StatsAsync(LibvirtConnection source, LibvirtConnection destination,
        string name, bool persistent, CancellationToken ct)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            // The source's figures are what it sent; a transient source vanished with the move, so ask the destination.
            var stats = persistent ? await source.CompletedJobStatsAsync(name, bound.Token).ConfigureAwait(false) : new Dictionary<string, long>();
            if (!stats.ContainsKey("memory_processed"))
            {
                stats = await destination.CompletedJobStatsAsync(name, bound.Token).ConfigureAwait(false);
            }
            return (stats.GetValueOrDefault("memory_processed"), stats.TryGetValue("downtime", out var ms) ? ms * 1_000_000 : null);
        }
        catch (OperationCanceledException)
        {
            return (0, null);
        }
    }

    /// <summary>
    /// precopy, switchover and postcopy phases from QEMU's event stamps; the downtime when STOP and RESUME were both
    /// seen; whether QEMU switched to post-copy (null when no migration event of the source was seen at all).
    /// </summary>
    public static async Task<(long? DowntimeNs, bool? Postcopy)> EventPhasesAsync(LibvirtEventWatch src, LibvirtEventWatch dst,
        Dictionary<string, long> phases, CancellationToken ct)
    {
        // virsh migrate has returned, so all of these happened; only their delivery may lag (bounded).
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        wait.CancelAfter(TimeSpan.FromSeconds(3));
        var stop = (await src.WaitAsync(e => e.Name == "STOP", wait.Token).ConfigureAwait(false))?.EmittedAtUs;
        var resume = (await dst.WaitAsync(e => e.Name == "RESUME", wait.Token).ConfigureAwait(false))?.EmittedAtUs;
        var completed = (await src.WaitAsync(Status("completed"), wait.Token).ConfigureAwait(false))?.EmittedAtUs;
        var active = src.First(Status("active"))?.EmittedAtUs;
        bool? postcopy = src.First(e => e.Name == "MIGRATION") is null ? null : src.First(Status("postcopy-active")) is not null;
        if (active is { } a && stop is { } s0)
        {
            phases["precopy"] = Math.Max(0, s0 - a) * 1000;
        }
        if (stop is { } s && resume is { } r)
        {
            phases["switchover"] = Math.Max(0, r - s) * 1000;
            if (postcopy == true && completed is { } c)
            {
                phases["postcopy"] = Math.Max(0, c - r) * 1000;
            }
            return (r >= s ? (r - s) * 1000 : null, postcopy);
        }
        return (null, postcopy);
    }

    private static string Line(string text) =>
        string.Join("; ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static async Task Quietly(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException or LibvirtException)
        {
            // Best effort on the way out; the failure path reports where the guest is.
        }
    }
}
