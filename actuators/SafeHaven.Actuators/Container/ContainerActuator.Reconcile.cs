using SafeHaven.Actuators.Agent;
using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.Actuators.Container;

public sealed partial class ContainerActuator
{
    /// <summary>
    /// The results of the moves a crash of this agent cut short, read from the real state: whether the container is
    /// registered and running here or at the peer agent. A source copy that the dump left stopped is ended when the
    /// target runs the container and resumed when it does not, so exactly one copy runs; nothing is moved again.
    /// Each result has a <c>reconcile</c> phase. Call before the first new command.
    /// </summary>
    public Task<IReadOnlyList<IsolationResult>> ReconcileAsync(CancellationToken ct = default) =>
        _results.ReconcileAsync(_gate, _commands, e => new EntityRef { datacenter = "", host = _options.Id, container = e.Container, pid = e.Pid },
            ReconcileOrExplainAsync, ct);

    // A command whose state cannot be read (a torn registry entry, a process gone mid-read) fails alone: the others are still reconciled.
    private async Task<(string Status, string Error)> ReconcileOrExplainAsync(JournalEntry e, CancellationToken ct)
    {
        try
        {
            return await ReconcileOneAsync(e, ct).ConfigureAwait(false);
        }
        catch (Exception x) when (x is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException
            or System.Text.Json.JsonException or ProcessGoneException)
        {
            return (ResultStatus.Failed, $"agent restarted during container {e.Action} of '{e.Container}'; its state could not be read back: {x.Message}");
        }
    }

    private Task<(string Status, string Error)> ReconcileOneAsync(JournalEntry e, CancellationToken ct)
    {
        var receive = e.Action == Actions.Receive;
        var peer = _options.SiteOf(receive ? e.Source : e.Target);
        if (e.Level != Levels.Container || e.Container is not { } name || peer is null || peer.AgentId == _options.Id
            || e.Action is not (Actions.Isolate or Actions.Receive))
        {
            return Task.FromResult((ResultStatus.Failed, $"agent restarted during {e.Level} {e.Action}; nothing this agent can read back"));
        }
        // The move id both halves share, as ExecuteAsync derived it.
        var moveId = receive && e.CommandId.EndsWith(Actions.ReceiveIdSuffix, StringComparison.Ordinal)
            ? e.CommandId[..^Actions.ReceiveIdSuffix.Length] : e.CommandId;
        return receive ? ReconcileReceiveAsync(peer, name, moveId, ct) : ReconcileSendAsync(peer, name, moveId, ct);
    }

    // This agent was the source.
    private async Task<(string Status, string Error)> ReconcileSendAsync(ContainerSite target, string name, string moveId, CancellationToken ct)
    {
        var here = Site.Load(name);
        if (RunsAt(target, name))
        {
            return await EndSourceCopyAsync(here, target, name, ct).ConfigureAwait(false);
        }
        if (here is not { IsRunning: true })
        {
            return (ResultStatus.Failed, $"agent restarted mid-move; container '{name}' runs neither at agent '{_options.Id}' nor at agent '{target.AgentId}'");
        }
        if (!IsStopped(here.InitPid))
        {
            return (ResultStatus.Failed, $"agent restarted mid-move; container '{name}' still runs at the source agent '{_options.Id}' (not moved)");
        }
        // Stopped by the dump: the target decides only if it claimed the restore first (see Handoff).
        var handoff = new Handoff(target.Incoming(name), moveId);
        var decision = Claim(handoff, "abort");
        if (decision == "restore")
        {
            // As long as the source half waits (SendAsync): a lazy-pages daemon to start, a restore, a verification.
            var c = _options.Criu;
            var verdict = await handoff.WaitOutcomeAsync(c.PrepareTimeout + c.CriuTimeout + c.VerifyTimeout, ct).ConfigureAwait(false);
            if (RunsAt(target, name) || verdict is { Error: null, InitPid: { } pid } && ProcFs.Default.State(pid) is not (null or 'Z' or 'X'))
            {
                return await EndSourceCopyAsync(here, target, name, ct).ConfigureAwait(false);
            }
            if (verdict is not { Error: not null })
            {
                // No refusal: the target may still restore, or runs a copy it has not registered; resuming here could run two.
                var orphan = await RestoredAsync(handoff, name, ct).ConfigureAwait(false);
                return (ResultStatus.Failed, $"agent restarted mid-move; agent '{target.AgentId}' " +
                    (orphan is { } o ? $"holds an unregistered restored copy of container '{name}' (pid {o.Pid})" : $"claimed the restore of container '{name}'") +
                    (verdict is null ? " and gave no verdict" : $" and reported it running as pid {verdict.InitPid}, which is gone") +
                    ": the stopped copy here is kept (neither resumed nor killed)");
            }
        }
        else if (decision == "abort")
        {
            // A target still waiting for the dump stops waiting now.
            handoff.TryWriteSent(new Sent(moveId, "the source agent restarted mid-move", null, null, null, 0, 0));
        }
        // A lazy-pages dump of this move that outlived the crash would wait for the target forever, holding the tenant's pages.
        ContainerMigrator.EndOrphanLazyDump(here.InitPid, Site.Outgoing(name));
        var resumed = ProcessTree.TrySignal(ProcessTree.Of(here.InitPid), ProcessTree.SigCont) && !IsStopped(here.InitPid);
        if (resumed)
        {
            ContainerMigrator.TryDelete(Site.Outgoing(name));
        }
        return resumed
            ? (ResultStatus.Failed, $"agent restarted mid-move; container '{name}' resumed at the source agent '{_options.Id}' (agent '{target.AgentId}' does not run it)")
            : (ResultStatus.Failed, $"agent restarted mid-move; container '{name}' is stopped at agent '{_options.Id}' and could not be resumed");
    }

    // The target runs the container: the copy here must never run again.
    private async Task<(string Status, string Error)> EndSourceCopyAsync(ContainerRecord? here, ContainerSite target, string name, CancellationToken ct)
    {
        if (here is { IsRunning: true } && !IsStopped(here.InitPid))
        {
            return (ResultStatus.Failed, $"container '{name}' runs both at agent '{_options.Id}' and at agent '{target.AgentId}': left as it is for an operator");
        }
        var ended = "";
        if (here is { IsRunning: true })
        {
            // Post-copy: pages the target has not fetched yet are served from this copy's dump until its lazy-pages daemon ends.
            if (_options.Criu.Mode == CriuPageMode.LazyPages && ReadPid(Path.Join(target.Incoming(name), "images", "lazy-pages.pid")) is { } daemon
                && CommandLine(daemon)?.Contains("lazy-pages", StringComparison.Ordinal) == true)
            {
                await ProcessTree.WaitGoneAsync([daemon], _options.Criu.CriuTimeout, ct).ConfigureAwait(false);
            }
            var tree = ProcessTree.Of(here.InitPid);
            ended = ProcessTree.TrySignal([here.InitPid], ProcessTree.SigKill) && await ProcessTree.WaitGoneAsync(tree, TimeSpan.FromSeconds(10), ct).ConfigureAwait(false)
                ? "; the stopped copy here was ended" : $"; the stopped copy here (pids {string.Join(',', tree)}) did not go away";
        }
        try
        {
            if (here is not null)
            {
                Site.Remove(name);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The entry left names a dead init, which is not running: the copy is ended all the same.
        }
        ContainerMigrator.TryDelete(Site.Outgoing(name));
        return (ResultStatus.Succeeded, $"reconciled after an agent restart: container '{name}' runs at agent '{target.AgentId}'{ended}");
    }

    private static bool RunsAt(ContainerSite site, string name) => site.Load(name) is { IsRunning: true } r && !IsStopped(r.InitPid);

    // 'T': stopped by a signal (criu dump --leave-stopped); 't': still seized by a tracer.
    private static bool IsStopped(int pid) => ProcFs.Default.State(pid) is 'T' or 't';

    // Claims the move's decision (see Handoff.Decide); null when the target never prepared this move's meeting place.
    private static string? Claim(Handoff handoff, string choice)
    {
        if (!Directory.Exists(handoff.Dir))
        {
            return null;
        }
        try
        {
            return handoff.Decide(choice);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static int? ReadPid(string pidFile)
    {
        try
        {
            return int.TryParse(File.ReadAllText(pidFile).Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture,
                out var pid) && pid > 0 ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    // The pid comes from a file CRIU wrote: anything out of range is no daemon of ours.
    private static string? CommandLine(int pid) => Identifiers.IsPid(pid) ? ProcFs.Default.ReadCmdline(pid) : null;
}
