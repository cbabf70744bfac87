using System.Diagnostics;

namespace SafeHaven.Actuators.Container;

public static partial class ContainerMigrator
{
    /// <summary>
    /// The target half: prepares <paramref name="target"/>'s <c>incoming/NAME/</c>, starts a page server (page-server
    /// mode), waits for the source's dump, restores it detached, verifies the restored init runs and its heartbeat
    /// grows past the source's last beat, registers the container here and tells the source.
    /// </summary>
    /// <param name="target">This agent's directory.</param>
    /// <param name="sourceAgentId">The agent the container comes from.</param>
    /// <param name="name">The container.</param>
    /// <param name="moveId">Shared by both halves of one move.</param>
    /// <param name="options">criu and limits.</param>
    /// <param name="ct">Aborts the waits.</param>
    public static async Task<ContainerMigrationResult> ReceiveAsync(ContainerSite target, string sourceAgentId, string name, string moveId,
        CriuOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        Validate(name, options);
        SafeHaven.Core.Identifiers.RequireToken(sourceAgentId, nameof(sourceAgentId));
        if (target.Load(name) is { IsRunning: true } here)
        {
            return Failed(target.AgentId, $"a container '{name}' already runs at agent '{target.AgentId}' (init pid {here.InitPid})", [], options.Mode, here.InitPid);
        }
        var move = new TargetMove(target, sourceAgentId, name, moveId, options);
        try
        {
            await OfferTicketAsync(move, ct).ConfigureAwait(false);
            if (await AwaitDumpAsync(move, ct).ConfigureAwait(false) is { } noDump)
            {
                return noDump;
            }
            if (await RestoreAndRegisterAsync(move, ct).ConfigureAwait(false) is { } notRestored)
            {
                return notRestored;
            }
            // Nothing below throws: the container runs here now, and no failure outcome may follow.
            move.Moved = true;
            return await AnswerSourceAsync(move).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException or OperationCanceledException
            or ProcessGoneException or System.ComponentModel.Win32Exception)
        {
            // Before the restore, or after a failed one (whose tree RestoreAndVerifyAsync killed): nothing runs here.
            return move.Refuse($"receiving container '{name}' at agent '{target.AgentId}' failed: {(e is OperationCanceledException ? "cancelled" : e.Message)}");
        }
        finally
        {
            if (move.PageServer is { } left)
            {
                ProcessTree.TrySignal([left], ProcessTree.SigKill);
            }
            if (!move.Moved)
            {
                // The tenant's memory image is of no use after a failure.
                TryDelete(move.Handoff.Images);
            }
        }
    }

    // A clean meeting place, a page server (page-server mode), and the ticket that tells the source where to dump.
    private static async Task OfferTicketAsync(TargetMove move, CancellationToken ct)
    {
        move.Handoff.Reset();
        // Checked after the reset too: a root someone else made meanwhile is refused before the source writes there.
        move.Target.RequireTrusted();
        var port = 0;
        if (!move.Lazy)
        {
            (port, var pid) = await StartPageServerAsync(move.Handoff.Images, move.Options, ct).ConfigureAwait(false);
            move.PageServer = pid;
        }
        move.Handoff.WriteTicket(new Ticket(move.MoveId, move.Options.Mode, move.Options.Address, port));
        move.Phases["prepare"] = Ns(move.StartedAt);
    }

    // The source's dump of this container, complete (the page server has exited), and the decision to restore it.
    private static async Task<ContainerMigrationResult?> AwaitDumpAsync(TargetMove move, CancellationToken ct)
    {
        var (options, handoff, from) = (move.Options, move.Handoff, move.SourceAgentId);
        var sent = await handoff.WaitSentAsync(options.PrepareTimeout + options.CriuTimeout, ct).ConfigureAwait(false);
        if (sent?.Error is not null || sent?.Record is null)
        {
            return move.Refuse($"agent '{from}' sent no dump of container '{move.Name}': {sent?.Error ?? "nothing arrived in time"}");
        }
        sent.Record.Validate();
        if (sent.Record.Spec.Name != move.Name)
        {
            return move.Refuse($"agent '{from}' sent container '{sent.Record.Spec.Name}', not '{move.Name}'");
        }
        if (move.PageServer is { } ps && !await ProcessTree.WaitGoneAsync([ps], TimeSpan.FromSeconds(10), ct).ConfigureAwait(false))
        {
            return move.Refuse($"the page server (pid {ps}) was still receiving 10 s after the dump ended");
        }
        move.PageServer = null;
        move.PageBytes = move.Lazy ? 0 : PageBytes(handoff.Images);
        if (handoff.Decide("restore") != "restore")
        {
            return move.Refuse($"agent '{from}' gave the move up before the restore");
        }
        move.Sent = sent;
        return null;
    }

    // Restores and verifies the tree, then registers it here before the source hears of it: once it has, it ends
    // its copy, and this one must be known here.
    private static async Task<ContainerMigrationResult?> RestoreAndRegisterAsync(TargetMove move, CancellationToken ct)
    {
        var sent = move.Sent!;
        var verdict = await RestoreAndVerifyAsync(move.Handoff, sent, move.Lazy, move.Options, move.Phases, ct).ConfigureAwait(false);
        if (verdict.Error is not null)
        {
            return move.Refuse($"restoring container '{move.Name}' at agent '{move.Target.AgentId}' failed: {verdict.Error}");
        }
        if (Register(move.Target, sent, move.SourceAgentId, verdict.Pid) is { } unregistered)
        {
            ProcessTree.TrySignal([verdict.Pid], ProcessTree.SigKill);
            EndLazyPagesDaemon(move.Handoff, move.Lazy);
            return move.Refuse($"registering the restored container '{move.Name}' at agent '{move.Target.AgentId}' failed ({unregistered}); the restored copy was killed");
        }
        move.Verdict = verdict;
        return null;
    }

    // Tells the source (which then ends its copy) and, in post-copy, waits until every page has arrived.
    private static async Task<ContainerMigrationResult> AnswerSourceAsync(TargetMove move)
    {
        var (verdict, handoff, here) = (move.Verdict!, move.Handoff, move.Target.AgentId);
        var result = new ContainerMigrationResult
        {
            Succeeded = true, ContainerAt = here, InitPid = verdict.Pid, PhasesNs = move.Phases, Mode = move.Options.Mode,
            PageBytes = move.PageBytes, MetadataBytes = move.Sent!.MetadataBytes, Heartbeats = verdict.Beats,
            RestoredAt = verdict.RestoredAt, TotalNs = Ns(move.StartedAt),
        };
        if (!handoff.TryWriteOutcome(new Outcome(move.MoveId, null, verdict.Pid)))
        {
            // It runs and is registered here; the source, told nothing, keeps its copy stopped: one copy runs.
            return result with
            {
                Succeeded = false, Error = $"container '{move.Name}' runs at agent '{here}', but agent '{move.SourceAgentId}' could not be told " +
                    "and keeps its copy stopped",
            };
        }
        if (move.Lazy && ReadPid(Path.Join(handoff.Images, "lazy-pages.pid")) is { } daemon)
        {
            // Post-copy: the images are the lazy-pages daemon's until every page arrived (it exits then).
            await ProcessTree.WaitGoneAsync([daemon], move.Options.CriuTimeout, CancellationToken.None).ConfigureAwait(false);
        }
        TryDelete(handoff.Images);
        return result;
    }

    // One target half in progress: what each step of ReceiveAsync learns, for the steps after it and the result.
    private sealed class TargetMove(ContainerSite target, string sourceAgentId, string name, string moveId, CriuOptions options)
    {
        public ContainerSite Target { get; } = target;

        public string SourceAgentId { get; } = sourceAgentId;

        public string Name { get; } = name;

        public string MoveId { get; } = moveId;

        public CriuOptions Options { get; } = options;

        public Handoff Handoff { get; } = new(target.Incoming(name), moveId);

        public bool Lazy => Options.Mode == CriuPageMode.LazyPages;

        public long StartedAt { get; } = Stopwatch.GetTimestamp();

        public Dictionary<string, long> Phases { get; } = [];

        /// <summary>The page server's pid while it may still run (killed on the way out).</summary>
        public int? PageServer { get; set; }

        public Sent? Sent { get; set; }

        public long PageBytes { get; set; }

        public Verdict? Verdict { get; set; }

        /// <summary>Set once the container runs here: its images are then kept for the lazy-pages daemon.</summary>
        public bool Moved { get; set; }

        // Whatever goes wrong, the source learns it at once (and resumes its copy) instead of waiting out its timeouts.
        public ContainerMigrationResult Refuse(string error)
        {
            Handoff.TryWriteOutcome(new Outcome(MoveId, error, null));
            return Failed(SourceAgentId, error, Phases, Options.Mode);
        }
    }
}
