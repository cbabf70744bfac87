using SafeHaven.Actuators.Agent;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Container;

public sealed partial class ContainerActuator
{
    // This agent was the target. Besides a registered container, a crash between criu restore and the registration
    // leaves a restored tree nobody owns: it is adopted once it proves it runs, else killed, and the source is told
    // either way so that it ends or resumes its stopped copy.
    private async Task<(string Status, string Error)> ReconcileReceiveAsync(ContainerSite source, string name, string moveId, CancellationToken ct)
    {
        if (RunsAt(Site, name))
        {
            return (ResultStatus.Succeeded, $"reconciled after an agent restart: container '{name}' runs here at agent '{_options.Id}'");
        }
        var handoff = new Handoff(Site.Incoming(name), moveId);
        if (await RestoredAsync(handoff, name, ct).ConfigureAwait(false) is { } orphan)
        {
            var problem = await ProveRunningAsync(orphan.Pid, orphan.Sent, ct).ConfigureAwait(false);
            // Registered before the source hears of it, as ContainerMigrator.ReceiveAsync does.
            problem ??= ContainerMigrator.Register(Site, orphan.Sent, source.AgentId, orphan.Pid) is { } unregistered ? $"it could not be registered: {unregistered}" : null;
            if (problem is null)
            {
                var told = handoff.TryWriteOutcome(new Outcome(moveId, null, orphan.Pid));
                return (ResultStatus.Succeeded, $"reconciled after an agent restart: the restored container '{name}' runs here at agent '{_options.Id}' (pid {orphan.Pid})" +
                    (told ? "" : $"; agent '{source.AgentId}' could not be told and keeps its copy stopped"));
            }
            ProcessTree.TrySignal([orphan.Pid], ProcessTree.SigKill);
            handoff.TryWriteOutcome(new Outcome(moveId, $"the target agent restarted and its restored copy failed: {problem}", null));
            return (ResultStatus.Failed, $"agent restarted while receiving container '{name}'; its restored copy failed ({problem}) and was killed: " +
                $"the container stays with agent '{source.AgentId}'");
        }
        // Nothing runs here: keep the source from waiting for a restore that will not come.
        if (Claim(handoff, "abort") is "abort" or "restore")
        {
            handoff.TryWriteOutcome(new Outcome(moveId, "the target agent restarted before the container ran there", null));
        }
        return (ResultStatus.Failed, $"agent restarted while receiving container '{name}'; it does not run here: the container stays with agent '{source.AgentId}'");
    }

    // The tree criu restored for this move, when it still runs the command of the record the source sent.
    private static async Task<(int Pid, Sent Sent)?> RestoredAsync(Handoff handoff, string name, CancellationToken ct)
    {
        if (!Directory.Exists(handoff.Dir))
        {
            return null;
        }
        // One look, no wait: the source wrote it long before, or never will.
        var sent = await handoff.WaitSentAsync(TimeSpan.Zero, ct).ConfigureAwait(false);
        if (sent?.Record is not { } record || record.Spec?.Name != name)
        {
            return null;
        }
        try
        {
            record.Validate();
        }
        catch (ArgumentException)
        {
            return null;
        }
        // The pid file criu restore --pidfile writes (ContainerMigrator's target half).
        if (ReadPid(Path.Join(handoff.Images, "restored.pid")) is not { } pid || ProcFs.Default.State(pid) is null or 'Z' or 'X')
        {
            return null;
        }
        return CommandLine(pid) == string.Join('\0', record.Spec.Command) + "\0" ? (pid, sent) : null;
    }

    // A live, unstopped init and, when the container beats, a beat past the last one the source saw.
    private async Task<string?> ProveRunningAsync(int pid, Sent sent, CancellationToken ct)
    {
        if (IsStopped(pid))
        {
            return $"restored init {pid} is stopped";
        }
        if (sent.Record!.Spec.HeartbeatFile is not { } hb)
        {
            return null;
        }
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(_options.Criu.VerifyTimeout);
        var beat = await SerialHeartbeat.WaitBeyondAsync(hb, sent.LastBeat, bound.Token).ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
        return beat is null ? $"its heartbeat stayed at {sent.LastBeat} for {_options.Criu.VerifyTimeout.TotalSeconds:0} s" : null;
    }
}
