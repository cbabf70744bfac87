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
        var phases = new Dictionary<string, long>();
        if (target.Load(name) is { IsRunning: true } here)
        {
            return Failed(target.AgentId, $"a container '{name}' already runs at agent '{target.AgentId}' (init pid {here.InitPid})", phases, options.Mode, here.InitPid);
        }
        var handoff = new Handoff(target.Incoming(name), moveId);
        var lazy = options.Mode == CriuPageMode.LazyPages;
        var t0 = Stopwatch.GetTimestamp();
        int? pageServer = null;
        var moved = false;
        // Whatever goes wrong, the source learns it at once (and resumes its copy) instead of waiting out its timeouts.
        ContainerMigrationResult Refuse(string error)
        {
            handoff.TryWriteOutcome(new Outcome(moveId, error, null));
            return Failed(sourceAgentId, error, phases, options.Mode);
        }
        try
        {
            handoff.Reset();
            // Checked after the reset too: a root someone else made meanwhile is refused before the source writes there.
            target.RequireTrusted();
            var port = 0;
            if (!lazy)
            {
                (port, var pid) = await StartPageServerAsync(handoff.Images, options, ct).ConfigureAwait(false);
                pageServer = pid;
            }
            handoff.WriteTicket(new Ticket(moveId, options.Mode, options.Address, port));
            phases["prepare"] = Ns(t0);

            var sent = await handoff.WaitSentAsync(options.PrepareTimeout + options.CriuTimeout, ct).ConfigureAwait(false);
            if (sent?.Error is not null || sent?.Record is null)
            {
                return Refuse($"agent '{sourceAgentId}' sent no dump of container '{name}': {sent?.Error ?? "nothing arrived in time"}");
            }
            sent.Record.Validate();
            if (sent.Record.Spec.Name != name)
            {
                return Refuse($"agent '{sourceAgentId}' sent container '{sent.Record.Spec.Name}', not '{name}'");
            }
            if (pageServer is { } ps && !await ProcessTree.WaitGoneAsync([ps], TimeSpan.FromSeconds(10), ct).ConfigureAwait(false))
            {
                return Refuse($"the page server (pid {ps}) was still receiving 10 s after the dump ended");
            }
            pageServer = null;
            var pageBytes = lazy ? 0 : PageBytes(handoff.Images);
            if (handoff.Decide("restore") != "restore")
            {
                return Refuse($"agent '{sourceAgentId}' gave the move up before the restore");
            }
            var verdict = await RestoreAndVerifyAsync(handoff, sent, lazy, options, phases, ct).ConfigureAwait(false);
            if (verdict.Error is not null)
            {
                return Refuse($"restoring container '{name}' at agent '{target.AgentId}' failed: {verdict.Error}");
            }
            // Registered before the source hears of it: once it has, it ends its copy, and this one must be known here.
            if (Register(target, sent, sourceAgentId, verdict.Pid) is { } unregistered)
            {
                ProcessTree.TrySignal([verdict.Pid], ProcessTree.SigKill);
                EndLazyPagesDaemon(handoff, lazy);
                return Refuse($"registering the restored container '{name}' at agent '{target.AgentId}' failed ({unregistered}); the restored copy was killed");
            }
            // Nothing below throws: the container runs here now, and no failure outcome may follow.
            moved = true;
            var result = new ContainerMigrationResult
            {
                Succeeded = true, ContainerAt = target.AgentId, InitPid = verdict.Pid, PhasesNs = phases, Mode = options.Mode,
                PageBytes = pageBytes, MetadataBytes = sent.MetadataBytes, Heartbeats = verdict.Beats,
                RestoredAt = verdict.RestoredAt, TotalNs = Ns(t0),
            };
            if (!handoff.TryWriteOutcome(new Outcome(moveId, null, verdict.Pid)))
            {
                // It runs and is registered here; the source, told nothing, keeps its copy stopped: one copy runs.
                return result with
                {
                    Succeeded = false, Error = $"container '{name}' runs at agent '{target.AgentId}', but agent '{sourceAgentId}' could not be told " +
                        "and keeps its copy stopped",
                };
            }
            if (lazy && ReadPid(Path.Join(handoff.Images, "lazy-pages.pid")) is { } daemon)
            {
                // Post-copy: the images are the lazy-pages daemon's until every page arrived (it exits then).
                await ProcessTree.WaitGoneAsync([daemon], options.CriuTimeout, CancellationToken.None).ConfigureAwait(false);
            }
            TryDelete(handoff.Images);
            return result;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException or OperationCanceledException
            or ProcessGoneException or System.ComponentModel.Win32Exception)
        {
            // Before the restore, or after a failed one (whose tree RestoreAndVerifyAsync killed): nothing runs here.
            return Refuse($"receiving container '{name}' at agent '{target.AgentId}' failed: {(e is OperationCanceledException ? "cancelled" : e.Message)}");
        }
        finally
        {
            if (pageServer is { } left)
            {
                ProcessTree.TrySignal([left], ProcessTree.SigKill);
            }
            if (!moved)
            {
                // The tenant's memory image is of no use after a failure.
                TryDelete(handoff.Images);
            }
        }
    }
}
