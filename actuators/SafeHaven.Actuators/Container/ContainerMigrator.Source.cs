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
        if (source.Load(name) is not { IsRunning: true } record)
        {
            return Failed("unknown", $"container '{name}' does not run at agent '{source.AgentId}'", [], options.Mode);
        }
        var move = new SourceMove(source, target, name, moveId, options, record);
        if (await AwaitTicketAsync(move, ct).ConfigureAwait(false) is { } notPrepared)
        {
            return notPrepared;
        }
        if (await DumpAndHandOverAsync(move).ConfigureAwait(false) is { } notHandedOver)
        {
            return notHandedOver;
        }
        var sentAt = Stopwatch.GetTimestamp();
        var verdict = await AwaitVerdictAsync(move.Handoff, target, name, options, ct).ConfigureAwait(false);
        if (verdict.Outcome is not { Error: null } outcome)
        {
            return NotTaken(move, verdict.Outcome, verdict.MayResume);
        }
        if (await ServeLazyPagesAsync(move, sentAt).ConfigureAwait(false) is { } split)
        {
            return split;
        }
        return await EndSourceCopyAsync(move, outcome).ConfigureAwait(false);
    }

    // The target's ticket, then a fresh private directory for the dump; the container is untouched if either fails.
    private static async Task<ContainerMigrationResult?> AwaitTicketAsync(SourceMove move, CancellationToken ct)
    {
        var (source, target, options) = (move.Source, move.Target, move.Options);
        var t0 = Stopwatch.GetTimestamp();
        var ticket = await move.Handoff.WaitTicketAsync(options.PrepareTimeout, ct).ConfigureAwait(false);
        move.Phases["prepare"] = Ns(t0);
        if (ticket is null || ticket.Mode != options.Mode)
        {
            var why = ticket is null ? $"prepared no incoming side within {Seconds(options.PrepareTimeout)}" : $"expects {ticket.Mode}, not {options.Mode}";
            return move.Fail(source.AgentId, $"target agent '{target.AgentId}' {why}; container '{move.Name}' untouched at the source", move.Record.InitPid);
        }
        move.Ticket = ticket;
        try
        {
            // The ticket says where the memory goes: taken only from a directory nobody else can write.
            target.RequireTrusted();
            if (Directory.Exists(move.OutDir))
            {
                Directory.Delete(move.OutDir, recursive: true);
            }
            ContainerSite.CreatePrivate(move.OutDir);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            return move.Fail(source.AgentId, $"moving container '{move.Name}' to agent '{target.AgentId}' failed before the dump: {e.Message}; " +
                "container untouched at the source", move.Record.InitPid);
        }
    }

    // Freezes and dumps the tree (memory to the target's page server, or served lazily from here), then hands the
    // metadata images over; on any failure the target is told why and the source copy resumes.
    private static async Task<ContainerMigrationResult?> DumpAndHandOverAsync(SourceMove move)
    {
        var (record, options, handoff) = (move.Record, move.Options, move.Handoff);
        move.Tree = ProcessTree.Of(record.InitPid);
        move.FrozenAt = Stopwatch.GetTimestamp();
        try
        {
            var lazyPort = 0;
            if (move.Lazy)
            {
                (move.LazyDump, lazyPort) = await StartLazyDumpAsync(record.InitPid, move.OutDir, options).ConfigureAwait(false);
            }
            else
            {
                // Not cancellable: killing criu while its parasite runs inside the tasks could wreck them; CriuTimeout bounds it.
                var dump = await CriuRunner.RunAsync(options.Binary, CriuArguments.Dump(record.InitPid, move.OutDir, move.Ticket!.Address, move.Ticket.PageServerPort,
                    lazy: false, options.LogLevel), options.CriuTimeout, CancellationToken.None).ConfigureAwait(false);
                if (!dump.Succeeded)
                {
                    throw new IOException($"criu dump failed ({CriuRunner.Why(dump, Path.Join(move.OutDir, CriuArguments.DumpLog))})");
                }
            }
            move.Phases["dump"] = Ns(move.FrozenAt);
            // Frozen now: this is every process (a child forked since the first look included), the last beat
            // is final, and the target must beat past it.
            move.Tree = ProcessTree.Of(record.InitPid);
            var lastBeat = record.Spec.HeartbeatFile is { } hb ? SerialHeartbeat.Last(hb) : null;
            var t1 = Stopwatch.GetTimestamp();
            move.MetadataBytes = CopyMetadata(move.OutDir, handoff.Images, options.MaxMetadataBytes);
            handoff.WriteSent(new Sent(move.MoveId, null, record, lastBeat, move.Lazy ? options.Address : null, lazyPort, move.MetadataBytes));
            move.Phases["transfer"] = Ns(t1);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or OperationCanceledException
            or System.ComponentModel.Win32Exception)
        {
            // Nothing handed over, so the target cannot restore; it stops waiting once it reads why (if it still can).
            var why = e is OperationCanceledException ? "cancelled" : e.Message;
            handoff.TryWriteSent(new Sent(move.MoveId, why, null, null, null, 0, 0));
            return move.Resume($"moving container '{move.Name}' to agent '{move.Target.AgentId}' failed before the handover: {why}");
        }
    }

    // No verdict, or a refusal: the stopped copy resumes, unless the target may have restored it meanwhile.
    private static ContainerMigrationResult NotTaken(SourceMove move, Outcome? outcome, bool mayResume)
    {
        if (!mayResume)
        {
            return move.Fail("unknown", $"target agent '{move.Target.AgentId}' may have restored container '{move.Name}' and gave no verdict " +
                $"({outcome?.Error ?? "none within the wait"}); the stopped source copy is kept (neither resumed nor killed)", null);
        }
        return move.Resume($"target agent '{move.Target.AgentId}' did not take container '{move.Name}': {outcome?.Error ?? "no verdict"}")
            with { MetadataBytes = move.MetadataBytes };
    }

    // Post-copy: the target runs already and the source serves the pages it has not fetched yet; stopping that
    // early would lose them, so only CriuTimeout ends the wait.
    private static async Task<ContainerMigrationResult?> ServeLazyPagesAsync(SourceMove move, long sentAt)
    {
        if (move.LazyDump is not { } lazyDump)
        {
            return null;
        }
        bool served;
        try
        {
            served = await WaitExitAsync(lazyDump, move.Options.CriuTimeout).ConfigureAwait(false);
        }
        finally
        {
            lazyDump.Dispose();
        }
        move.Phases["postcopy"] = Ns(sentAt);
        return served ? null : move.Fail("unknown", $"lazy page transfer of container '{move.Name}' failed after its restore at agent '{move.Target.AgentId}' " +
            $"({CriuRunner.Errors(Path.Join(move.OutDir, CriuArguments.DumpLog))}): state is split, the source copy is kept stopped", null);
    }

    // The target runs the container from here on: nothing below may turn that into a lost result, so no
    // cancellation and no exception (a registry entry left behind names a dead init, which is not running).
    private static async Task<ContainerMigrationResult> EndSourceCopyAsync(SourceMove move, Outcome outcome)
    {
        var t2 = Stopwatch.GetTimestamp();
        var gone = ProcessTree.TrySignal([move.Record.InitPid], ProcessTree.SigKill)
            && await ProcessTree.WaitGoneAsync(move.Tree, TimeSpan.FromSeconds(10), CancellationToken.None).ConfigureAwait(false);
        move.Phases["release"] = Ns(t2);
        try
        {
            move.Source.Remove(move.Name);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            // See above.
        }
        TryDelete(move.OutDir);
        var target = move.Target.AgentId;
        return new ContainerMigrationResult
        {
            Succeeded = gone, ContainerAt = target, InitPid = outcome.InitPid, PhasesNs = move.Phases, Mode = move.Options.Mode,
            Error = gone ? null : $"container '{move.Name}' runs at agent '{target}', but source processes {string.Join(',', move.Tree)} did not go away",
            TotalNs = Ns(move.FrozenAt), FrozenAt = move.FrozenAt, MetadataBytes = move.MetadataBytes,
        };
    }
}
