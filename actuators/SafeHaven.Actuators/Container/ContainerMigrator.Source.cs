using System.Diagnostics;
using SafeHaven.Actuators.Vm;

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
        if (Directory.Exists(outDir))
        {
            Directory.Delete(outDir, recursive: true);
        }
        ContainerSite.CreatePrivate(outDir);
        var tree = ProcessTree.Of(record.InitPid);
        var lazy = options.Mode == CriuPageMode.LazyPages;
        Process? lazyDump = null;
        var frozenAt = Stopwatch.GetTimestamp();
        long? lastBeat;
        long metadata;
        var lazyPort = 0;
        try
        {
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
            lastBeat = record.Spec.HeartbeatFile is { } hb ? SerialHeartbeat.Last(hb) : null;
            var t1 = Stopwatch.GetTimestamp();
            metadata = CopyMetadata(outDir, handoff.Images, options.MaxMetadataBytes);
            phases["transfer"] = Ns(t1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or OperationCanceledException)
        {
            var why = e is OperationCanceledException ? "cancelled" : e.Message;
            handoff.WriteSent(new Sent(moveId, why, null, null, null, 0, 0));
            return Resume(source, record, tree, lazyDump, $"moving container '{name}' to agent '{target.AgentId}' failed before the handover: {why}", phases, options.Mode);
        }

        handoff.WriteSent(new Sent(moveId, null, record, lastBeat, lazy ? options.Address : null, lazyPort, metadata));
        var sentAt = Stopwatch.GetTimestamp();
        var verdict = await AwaitVerdictAsync(handoff, options, ct).ConfigureAwait(false);
        if (verdict.Outcome is not { Error: null } outcome)
        {
            if (!verdict.MayResume)
            {
                return Failed("unknown", $"target agent '{target.AgentId}' started restoring container '{name}' and gave no verdict; " +
                    "the stopped source copy is kept (neither resumed nor killed)", phases, options.Mode);
            }
            return Resume(source, record, tree, lazyDump, $"target agent '{target.AgentId}' did not take container '{name}': {verdict.Outcome?.Error ?? "no verdict"}",
                phases, options.Mode) with { MetadataBytes = metadata };
        }
        if (lazyDump is not null)
        {
            // Post-copy: the target runs already and the source serves the pages it has not fetched yet; stopping
            // that early would lose them, so only CriuTimeout ends the wait.
            var served = await WaitExitAsync(lazyDump, options.CriuTimeout).ConfigureAwait(false);
            phases["postcopy"] = Ns(sentAt);
            if (!served)
            {
                return Failed("unknown", $"lazy page transfer of container '{name}' failed after its restore at agent '{target.AgentId}' " +
                    $"({CriuRunner.Errors(Path.Join(outDir, CriuArguments.DumpLog))}): state is split, the source copy is kept stopped", phases, options.Mode);
            }
        }
        var t2 = Stopwatch.GetTimestamp();
        ProcessTree.Signal([record.InitPid], ProcessTree.SigKill);
        var gone = await ProcessTree.WaitGoneAsync(tree, TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
        phases["release"] = Ns(t2);
        source.Remove(name);
        Directory.Delete(outDir, recursive: true);
        return new ContainerMigrationResult
        {
            Succeeded = gone, ContainerAt = target.AgentId, InitPid = outcome.InitPid, PhasesNs = phases, Mode = options.Mode,
            Error = gone ? null : $"container '{name}' runs at agent '{target.AgentId}', but source processes {string.Join(',', tree)} did not go away",
            TotalNs = Ns(frozenAt), FrozenAt = frozenAt, MetadataBytes = metadata,
        };
    }

    // The target's verdict; past the deadline the source may resume only if it claims the decision first.
    private static async Task<(Outcome? Outcome, bool MayResume)> AwaitVerdictAsync(Handoff handoff, CriuOptions options, CancellationToken ct)
    {
        var wait = options.PrepareTimeout + options.CriuTimeout + options.VerifyTimeout;
        var outcome = await WaitOrNullAsync(() => handoff.WaitOutcomeAsync(wait, ct)).ConfigureAwait(false);
        if (outcome is not null)
        {
            return (outcome, true);
        }
        if (handoff.Decide("abort") == "abort")
        {
            return (null, true);
        }
        // The target is restoring: its verdict will come, the copy here must not run meanwhile.
        outcome = await WaitOrNullAsync(() => handoff.WaitOutcomeAsync(options.CriuTimeout + options.VerifyTimeout, CancellationToken.None)).ConfigureAwait(false);
        return (outcome, outcome is not null);
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

    // criu resumes the tree itself when a dump fails; SIGCONT covers --leave-stopped after a successful one.
    private static ContainerMigrationResult Resume(ContainerSite source, ContainerRecord record, IReadOnlyList<int> tree, Process? lazyDump,
        string error, Dictionary<string, long> phases, CriuPageMode mode)
    {
        if (lazyDump is { HasExited: false })
        {
            lazyDump.Kill(entireProcessTree: true);
            lazyDump.WaitForExit(5000);
        }
        lazyDump?.Dispose();
        // Every process there is now, not only those seen before the freeze: a child forked in between would stay stopped.
        ProcessTree.Signal(ProcessTree.Of(record.InitPid).Union(tree), ProcessTree.SigCont);
        var running = record.IsRunning && ProcessTree.State(record.InitPid) is not 'T';
        return Failed(running ? source.AgentId : "unknown",
            $"{error}; {(running ? "container kept running at the source" : "and the source copy could not be resumed")}", phases, mode, record.InitPid);
    }
}
