using System.Globalization;

namespace SafeHaven.Actuators.Vm.Libvirt;

/// <summary>
/// Live-migrates a libvirt domain from one daemon to another, peer to peer (<c>virsh migrate --live --p2p</c>):
/// post-copy after a short pre-copy by default, as <see cref="QmpMigrator"/> does. libvirt starts the destination
/// QEMU itself. Success is reported only once the destination runs the guest (and, when a serial file is given,
/// its heartbeat continues from the source's and grows); a failure before post-copy leaves the guest running at
/// the source. Phase boundaries and the downtime come from QEMU's own event stamps (see <see cref="MigrateAsync"/>).
/// </summary>
public static class LibvirtMigrator
{
    /// <summary>Migrates <paramref name="domain"/> from <paramref name="source"/> to <paramref name="destination"/>, then verifies.</summary>
    /// <param name="source">The daemon running the guest.</param>
    /// <param name="destination">
    /// The receiving daemon; its URI is handed to the source daemon (p2p), so it must be reachable from there, and from
    /// this process, which asks it for the domain's state before and after. Two daemons of one machine need
    /// <c>qemu+unix:///system?socket=…</c>: libvirt refuses <c>qemu:///system</c> as "same host".
    /// </param>
    /// <param name="domain">The VM name.</param>
    /// <param name="destinationSerial">
    /// When set, the destination definition writes its serial port here instead of the source's file, and the
    /// heartbeat must grow here; null keeps the source's path and checks only the domain state.
    /// </param>
    /// <param name="sourceLastHeartbeat">The last beat seen at the source; the destination must continue from it.</param>
    /// <param name="options">Mode and limits (bandwidth in MiB/s for libvirt, pre-copy downtime limit, timeouts).</param>
    /// <param name="migrateUri">
    /// QEMU's data channel: <c>tcp://HOST</c>, <c>tcp://HOST:PORT</c>, or <c>unix:///PATH</c> when both daemons share a
    /// machine (fewer ms at the switchover than loopback TCP here); null lets libvirt use the destination's host name
    /// and a port from its <c>migration_port_min</c> range.
    /// </param>
    /// <param name="ct">Aborts the wait; a pre-copy is then cancelled and the guest stays at the source.</param>
    /// <returns>
    /// The outcome. A persistent guest becomes persistent at the destination, and its source definition is removed,
    /// only after verification; should either step fail, <see cref="MigrationOutcome.Succeeded"/> stays true and
    /// <see cref="MigrationOutcome.Error"/> says which definition is left where.
    /// </returns>
    /// <remarks>
    /// Downtime is destination <c>RESUME</c> − source <c>STOP</c> on QEMU's own event timestamps, which libvirt
    /// relays unchanged (<c>virsh qemu-monitor-event</c>); both QEMU processes stamp with the host's wall clock. This is
    /// the QMP backend's measure, and it includes what libvirt adds to the switchover (its pre-switchover pause and
    /// its <c>cont</c> on the destination). libvirt's job statistic <c>downtime</c> is QEMU's own post-copy field,
    /// which stops counting at the source's switch and so misses the destination's resume; it is used only when
    /// an event was not seen. Phases: setup = call → source <c>MIGRATION active</c> (libvirt's begin/prepare,
    /// including the destination QEMU's start), precopy = → source <c>STOP</c>, switchover = → destination
    /// <c>RESUME</c>, postcopy = → source <c>MIGRATION completed</c>; total = call → virsh migrate returned.
    /// </remarks>
    public static async Task<MigrationOutcome> MigrateAsync(LibvirtConnection source, LibvirtConnection destination, string domain,
        string? destinationSerial, long? sourceLastHeartbeat, MigrationOptions options, string? migrateUri = null, CancellationToken ct = default)
    {
        var name = RequireArguments(source, destination, domain, destinationSerial, options, migrateUri);
        var time = TimeProvider.System;
        var t0 = time.GetTimestamp();
        var wall0Us = (time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / 10;
        var phases = new Dictionary<string, long>();
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(options.Timeout);
        var token = bound.Token;
        // Started first, so that they are connected well before QEMU's first migration event.
        using var srcEvents = LibvirtEventWatch.Start(source, name, existing: true, time);
        using var dstEvents = LibvirtEventWatch.Start(destination, name, existing: false, time);
        DirectoryInfo? scratch = null;
        try
        {
            if (await NotMovableAsync(source, destination, name, token).ConfigureAwait(false) is { } refused)
            {
                return refused;
            }
            var persistent = await source.IsPersistentAsync(name, token).ConfigureAwait(false);
            // virsh reads --xml on the client side; a private directory keeps anyone else from swapping the file.
            scratch = Directory.CreateTempSubdirectory("safehaven-libvirt-");
            var (destXmlPath, destXml) = await WriteDestinationXmlAsync(source, name, destinationSerial, scratch, token).ConfigureAwait(false);
            await source.RequireAsync(["migrate-setmaxdowntime", name, "--downtime", options.DowntimeLimitMs.ToString(CultureInfo.InvariantCulture)], token).ConfigureAwait(false);

            var run = await LibvirtMigration.RunAsync(source, destination, name, destXmlPath, migrateUri, options, srcEvents, token).ConfigureAwait(false);
            var completedAt = time.GetTimestamp();
            if (srcEvents.First(LibvirtMigration.Status("active"))?.EmittedAtUs is { } activeUs)
            {
                phases["setup"] = Math.Max(0, activeUs - wall0Us) * 1000;
            }
            if (run.Error is not null)
            {
                return await LibvirtMigration.FailAsync(source, destination, name, run.Error, phases).ConfigureAwait(false);
            }
            var total = (long)time.GetElapsedTime(t0, completedAt).Ticks * 100;
            var stats = await LibvirtMigration.StatsAsync(source, destination, name, persistent, ct).ConfigureAwait(false);
            var events = await LibvirtMigration.EventPhasesAsync(srcEvents, dstEvents, phases, ct).ConfigureAwait(false);
            // The events tell whether QEMU switched; without them, whether libvirt accepted the request.
            var mode = events.Postcopy ?? run.PostcopyRequested ? "postcopy" : "precopy";

            var verifyStart = time.GetTimestamp();
            var check = await LibvirtMigration.VerifyAsync(source, destination, name, destinationSerial, sourceLastHeartbeat, options.VerifyTimeout, ct).ConfigureAwait(false);
            phases["verify"] = (long)time.GetElapsedTime(verifyStart).Ticks * 100;
            if (check.Error is not null)
            {
                // libvirt's confirm step already ended the source QEMU: there is nothing to fall back to.
                var failed = await LibvirtMigration.FailAsync(source, destination, name, $"destination unhealthy after migration: {check.Error}", phases).ConfigureAwait(false);
                return failed with { TotalNs = total, BytesTransferred = stats.Bytes, DowntimeNs = events.DowntimeNs ?? stats.DowntimeNs, Mode = mode };
            }
            using var finish = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            var leftover = persistent ? await LibvirtMigration.MovePersistenceAsync(source, destination, name, destXml, finish.Token).ConfigureAwait(false) : null;
            return new MigrationOutcome
            {
                Succeeded = true, Error = leftover, GuestAt = "destination", PhasesNs = phases, TotalNs = total,
                DowntimeNs = events.DowntimeNs ?? stats.DowntimeNs, BytesTransferred = stats.Bytes,
                Mode = mode, DestinationHeartbeats = check.Beats,
            };
        }
        catch (Exception e) when (e is LibvirtException or OperationCanceledException or ArgumentException or IOException)
        {
            var why = e is OperationCanceledException ? "timed out or cancelled" : e.Message;
            return await LibvirtMigration.FailAsync(source, destination, name, why, phases).ConfigureAwait(false);
        }
        finally
        {
            scratch?.Delete(recursive: true);
        }
    }

    // Checks what MigrateAsync is given; returns the validated domain name.
    private static string RequireArguments(LibvirtConnection source, LibvirtConnection destination, string domain, string? destinationSerial,
        MigrationOptions options, string? migrateUri)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(options);
        var name = LibvirtConnection.Domain(domain);
        if (destinationSerial is not null)
        {
            QemuPaths.RequireOptionSafePath(destinationSerial, nameof(destinationSerial));
        }
        LibvirtMigration.RequireMigrateUri(migrateUri);
        if (options.DowntimeLimitMs <= 0 || options.MaxBandwidthBytesPerSecond <= 0 || options.PrecopyPassesBeforePostcopy < 0)
        {
            throw new ArgumentException("downtime limit and bandwidth must be positive, pre-copy passes not negative", nameof(options));
        }
        return name;
    }

    // Why the domain cannot move (it does not run at the source, or a domain of its name exists at the destination), or null.
    private static async Task<MigrationOutcome?> NotMovableAsync(LibvirtConnection source, LibvirtConnection destination, string name, CancellationToken token)
    {
        var before = await source.StateAsync(name, token).ConfigureAwait(false);
        if (before is not { IsRunning: true })
        {
            return new MigrationOutcome { Error = $"domain '{name}' is {before?.ToString() ?? "unknown"} at {source}, not running", GuestAt = before is null ? "unknown" : "source" };
        }
        if (await destination.StateAsync(name, token).ConfigureAwait(false) is { } there)
        {
            return new MigrationOutcome { Error = $"domain '{name}' already exists at {destination} ({there})", GuestAt = "source" };
        }
        return null;
    }

    // The destination's definition (the source's, with the serial port moved when asked), written into the scratch directory.
    private static async Task<(string Path, string Xml)> WriteDestinationXmlAsync(LibvirtConnection source, string name, string? destinationSerial,
        DirectoryInfo scratch, CancellationToken token)
    {
        var xml = await source.MigratableXmlAsync(name, token).ConfigureAwait(false);
        var path = Path.Join(scratch.FullName, "destination.xml");
        var destXml = destinationSerial is null ? xml : LibvirtDomainXml.WithSerialPath(xml, destinationSerial);
        await File.WriteAllTextAsync(path, destXml, token).ConfigureAwait(false);
        return (path, destXml);
    }
}
