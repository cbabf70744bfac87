using System.Diagnostics;
using SafeHaven.Actuators.Agent;

namespace SafeHaven.Actuators.Container;

public static partial class ContainerMigrator
{
    /// <summary>
    /// The source half: waits for <paramref name="target"/>'s ticket, dumps container <paramref name="name"/> into
    /// it (left stopped, not killed), hands over the metadata images, waits for the target's verdict, then kills
    /// the stopped copy, or resumes it when anything failed before the target decided to restore.
    /// </summary>
    /// <param name="source">This agent's directory, where the container is registered.</param>
    /// <param name="target">The target agent's directory (the meeting place is its <c>incoming/NAME/</c>).</param>
    /// <param name="name">The container.</param>
    /// <param name="moveId">Shared by both halves of one move (e.g. the command id).</param>
    /// <param name="options">criu and limits.</param>
    /// <param name="ct">Aborts the waits.</param>
    public static async Task<ContainerMigrationResult> SendAsync(ContainerSite source, ContainerSite target, string name, string moveId,
        CriuOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        Validate(name, options);
        var phases = new Dictionary<string, long>();
        var record = source.Load(name);
        if (record is not { IsRunning: true })
        {
            return Failed("unknown", $"container '{name}' does not run at agent '{source.AgentId}'", phases, options.Mode);
        }
        var handoff = new Handoff(target.Incoming(name), moveId);
        var t0 = Stopwatch.GetTimestamp();
        var ticket = await handoff.WaitTicketAsync(options.PrepareTimeout, ct).ConfigureAwait(false);
        phases["prepare"] = Ns(t0);
        if (ticket is null || ticket.Mode != options.Mode)
        {
            var why = ticket is null ? $"prepared no incoming side within {Seconds(options.PrepareTimeout)}" : $"expects {ticket.Mode}, not {options.Mode}";
            return Failed(source.AgentId, $"target agent '{target.AgentId}' {why}; container '{name}' untouched at the source", phases, options.Mode, record.InitPid);
        }

        var outDir = source.Outgoing(name);
        try
        {
            // The ticket says where the memory goes: taken only from a directory nobody else can write.
            target.RequireTrusted();
            if (Directory.Exists(outDir))
            {
                Directory.Delete(outDir, recursive: true);
            }
            ContainerSite.CreatePrivate(outDir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            return Failed(source.AgentId, $"moving container '{name}' to agent '{target.AgentId}' failed before the dump: {e.Message}; " +
                "container untouched at the source", phases, options.Mode, record.InitPid);
        }
        var tree = ProcessTree.Of(record.InitPid);
        var lazy = options.Mode == CriuPageMode.LazyPages;
        Process? lazyDump = null;
        var frozenAt = Stopwatch.GetTimestamp();
        long metadata = 0;
        try
        {
            var lazyPort = 0;
            if (lazy)
            {
                (lazyDump, lazyPort) = await StartLazyDumpAsync(record.InitPid, outDir, options).ConfigureAwait(false);
            }
            else
            {
                // Not cancellable: killing criu while its parasite runs inside the tasks could wreck them; CriuTimeout bounds it.
                var dump = await CriuRunner.RunAsync(options.Binary, CriuArguments.Dump(record.InitPid, outDir, ticket.Address, ticket.PageServerPort, lazy: false,
                    options.LogLevel), options.CriuTimeout, CancellationToken.None).ConfigureAwait(false);
                if (!dump.Succeeded)
                {
                    throw new IOException($"criu dump failed ({CriuRunner.Why(dump, Path.Join(outDir, CriuArguments.DumpLog))})");
                }
            }
            phases["dump"] = Ns(frozenAt);
            // Frozen now: this is every process (a child forked since the first look included), the last beat
            // is final, and the target must beat past it.
            tree = ProcessTree.Of(record.InitPid);
            var lastBeat = record.Spec.HeartbeatFile is { } hb ? SerialHeartbeat.Last(hb) : null;
            var t1 = Stopwatch.GetTimestamp();
            metadata = CopyMetadata(outDir, handoff.Images, options.MaxMetadataBytes);
            handoff.WriteSent(new Sent(moveId, null, record, lastBeat, lazy ? options.Address : null, lazyPort, metadata));
            phases["transfer"] = Ns(t1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or OperationCanceledException
            or System.ComponentModel.Win32Exception)
        {
            // Nothing handed over, so the target cannot restore; it stops waiting once it reads why (if it still can).
            var why = e is OperationCanceledException ? "cancelled" : e.Message;
            handoff.TryWriteSent(new Sent(moveId, why, null, null, null, 0, 0));
            return Resume(source, record, tree, lazyDump, outDir, $"moving container '{name}' to agent '{target.AgentId}' failed before the handover: {why}",
                phases, options.Mode);
        }

        var sentAt = Stopwatch.GetTimestamp();
        var verdict = await AwaitVerdictAsync(handoff, target, name, options, ct).ConfigureAwait(false);
        if (verdict.Outcome is not { Error: null } outcome)
        {
            if (!verdict.MayResume)
            {
                return Failed("unknown", $"target agent '{target.AgentId}' may have restored container '{name}' and gave no verdict " +
                    $"({verdict.Outcome?.Error ?? "none within the wait"}); the stopped source copy is kept (neither resumed nor killed)", phases, options.Mode);
            }
            return Resume(source, record, tree, lazyDump, outDir, $"target agent '{target.AgentId}' did not take container '{name}': {verdict.Outcome?.Error ?? "no verdict"}",
                phases, options.Mode) with { MetadataBytes = metadata };
        }
        if (lazyDump is not null)
        {
            // Post-copy: the target runs already and the source serves the pages it has not fetched yet; stopping
            // that early would lose them, so only CriuTimeout ends the wait.
            bool served;
            try
            {
                served = await WaitExitAsync(lazyDump, options.CriuTimeout).ConfigureAwait(false);
            }
            finally
            {
                lazyDump.Dispose();
            }
            phases["postcopy"] = Ns(sentAt);
            if (!served)
            {
                return Failed("unknown", $"lazy page transfer of container '{name}' failed after its restore at agent '{target.AgentId}' " +
                    $"({CriuRunner.Errors(Path.Join(outDir, CriuArguments.DumpLog))}): state is split, the source copy is kept stopped", phases, options.Mode);
            }
        }
        // The target runs the container from here on: nothing below may turn that into a lost result, so no
        // cancellation and no exception (a registry entry left behind names a dead init, which is not running).
        var t2 = Stopwatch.GetTimestamp();
        var gone = ProcessTree.TrySignal([record.InitPid], ProcessTree.SigKill)
            && await ProcessTree.WaitGoneAsync(tree, TimeSpan.FromSeconds(10), CancellationToken.None).ConfigureAwait(false);
        phases["release"] = Ns(t2);
        try
        {
            source.Remove(name);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            // See above.
        }
        TryDelete(outDir);
        return new ContainerMigrationResult
        {
            Succeeded = gone, ContainerAt = target.AgentId, InitPid = outcome.InitPid, PhasesNs = phases, Mode = options.Mode,
            Error = gone ? null : $"container '{name}' runs at agent '{target.AgentId}', but source processes {string.Join(',', tree)} did not go away",
            TotalNs = Ns(frozenAt), FrozenAt = frozenAt, MetadataBytes = metadata,
        };
    }

    // criu resumes the tree itself when a dump fails; SIGCONT covers --leave-stopped after a successful one. The
    // images are of no use once the verdict is known, and hold the tenant's state: they go.
    private static ContainerMigrationResult Resume(ContainerSite source, ContainerRecord record, IReadOnlyList<int> tree, Process? lazyDump,
        string outDir, string error, Dictionary<string, long> phases, CriuPageMode mode)
    {
        if (lazyDump is { HasExited: false })
        {
            lazyDump.Kill(entireProcessTree: true);
            lazyDump.WaitForExit(5000);
        }
        lazyDump?.Dispose();
        // Every process there is now, not only those seen before the freeze: a child forked in between would stay stopped.
        // A failed SIGCONT shows as a stopped init below.
        ProcessTree.TrySignal(ProcessTree.Of(record.InitPid).Union(tree), ProcessTree.SigCont);
        var running = record.IsRunning && ProcFs.Default.State(record.InitPid) is not 'T';
        TryDelete(outDir);
        return Failed(running ? source.AgentId : "unknown",
            $"{error}; {(running ? "container kept running at the source" : "and the source copy could not be resumed")}", phases, mode, record.InitPid);
    }
}
