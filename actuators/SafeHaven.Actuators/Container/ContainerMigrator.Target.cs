using System.Diagnostics;
using SafeHaven.Actuators.Vm;

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
        try
        {
            handoff.Reset();
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
                return Failed(sourceAgentId, $"agent '{sourceAgentId}' sent no dump of container '{name}': {sent?.Error ?? "nothing arrived in time"}", phases, options.Mode);
            }
            sent.Record.Validate();
            if (sent.Record.Spec.Name != name)
            {
                return Failed(sourceAgentId, $"agent '{sourceAgentId}' sent container '{sent.Record.Spec.Name}', not '{name}'", phases, options.Mode);
            }
            if (pageServer is { } ps && !await ProcessTree.WaitGoneAsync([ps], TimeSpan.FromSeconds(10), ct).ConfigureAwait(false))
            {
                return Failed(sourceAgentId, $"the page server (pid {ps}) was still receiving 10 s after the dump ended", phases, options.Mode);
            }
            pageServer = null;
            if (handoff.Decide("restore") != "restore")
            {
                return Failed(sourceAgentId, $"agent '{sourceAgentId}' gave the move up before the restore", phases, options.Mode);
            }
            var verdict = await RestoreAndVerifyAsync(handoff, sent, lazy, options, phases, ct).ConfigureAwait(false);
            handoff.WriteOutcome(new Outcome(moveId, verdict.Error, verdict.Error is null ? verdict.Pid : null));
            if (verdict.Error is not null)
            {
                return Failed(sourceAgentId, $"restoring container '{name}' at agent '{target.AgentId}' failed: {verdict.Error}", phases, options.Mode);
            }
            target.Save(new ContainerRecord
            {
                Spec = sent.Record.Spec, InitPid = verdict.Pid, InitStartTime = Cpu.ProcFs.StartTime(verdict.Pid), LogFile = sent.Record.LogFile,
                MovedFrom = sourceAgentId,
            });
            return new ContainerMigrationResult
            {
                Succeeded = true, ContainerAt = target.AgentId, InitPid = verdict.Pid, PhasesNs = phases, Mode = options.Mode,
                PageBytes = lazy ? 0 : PageBytes(handoff.Images), MetadataBytes = sent.MetadataBytes, Heartbeats = verdict.Beats,
                RestoredAt = verdict.RestoredAt, TotalNs = Ns(t0),
            };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException or OperationCanceledException
            or Cpu.ProcessGoneException)
        {
            var why = e is OperationCanceledException ? "cancelled" : e.Message;
            return Failed(sourceAgentId, $"receiving container '{name}' at agent '{target.AgentId}' failed: {why}", phases, options.Mode);
        }
        finally
        {
            if (pageServer is { } left)
            {
                ProcessTree.Signal([left], ProcessTree.SigKill);
            }
        }
    }

    private sealed record Verdict(string? Error, int Pid, long? RestoredAt, (long, long)? Beats);

    // Restores, then proves the tree runs: a live init and, when the container beats, a beat past the
    // source's last one and one more after it. Anything restored that fails the proof is killed.
    private static async Task<Verdict> RestoreAndVerifyAsync(Handoff handoff, Sent sent, bool lazy, CriuOptions options,
        Dictionary<string, long> phases, CancellationToken ct)
    {
        Verdict verdict;
        try
        {
            verdict = await TryRestoreAndVerifyAsync(handoff.Images, sent, lazy, options, phases, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or Cpu.ProcessGoneException or FormatException or OperationCanceledException)
        {
            // The source waits for a verdict: it must get one, whatever happened here.
            verdict = new Verdict(e is OperationCanceledException ? "cancelled" : e.Message, 0, null, null);
        }
        // The lazy-pages daemon exits by itself once every page arrived; only a failed move leaves it waiting.
        if (verdict.Error is not null && lazy && ReadPid(Path.Join(handoff.Images, "lazy-pages.pid")) is { } daemon)
        {
            ProcessTree.Signal([daemon], ProcessTree.SigKill);
        }
        return verdict;
    }

    private static async Task<Verdict> TryRestoreAndVerifyAsync(string images, Sent sent, bool lazy, CriuOptions options,
        Dictionary<string, long> phases, CancellationToken ct)
    {
        var pidFile = Path.Join(images, "restored.pid");
        if (lazy)
        {
            var daemon = await CriuRunner.RunAsync(options.Binary, CriuArguments.LazyPages(images, sent.LazyAddress ?? options.Address, sent.LazyPort,
                Path.Join(images, "lazy-pages.pid"), options.LogLevel), options.PrepareTimeout, ct).ConfigureAwait(false);
            if (!daemon.Succeeded)
            {
                return new Verdict($"criu lazy-pages did not start ({CriuRunner.Why(daemon, Path.Join(images, CriuArguments.LazyPagesLog))})", 0, null, null);
            }
        }
        var t = Stopwatch.GetTimestamp();
        // Not cancellable, like the dump: a restore killed half-way leaves half-built tasks. CriuTimeout bounds it.
        var run = await CriuRunner.RunAsync(options.Binary, CriuArguments.Restore(images, pidFile, lazy, options.LogLevel), options.CriuTimeout,
            CancellationToken.None).ConfigureAwait(false);
        var restoredAt = Stopwatch.GetTimestamp();
        phases["restore"] = Ns(t, restoredAt);
        if (!run.Succeeded || ReadPid(pidFile) is not { } pid)
        {
            return new Verdict($"criu restore failed ({CriuRunner.Why(run, Path.Join(images, CriuArguments.RestoreLog))})", 0, restoredAt, null);
        }
        var v = Stopwatch.GetTimestamp();
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(options.VerifyTimeout);
        string? problem = null;
        (long, long)? beats = null;
        if (ProcessTree.State(pid) is null or 'Z' or 'X')
        {
            problem = $"restored init {pid} is not running";
        }
        else if (sent.Record!.Spec.HeartbeatFile is { } hb)
        {
            var first = await SerialHeartbeat.WaitBeyondAsync(hb, sent.LastBeat, bound.Token).ConfigureAwait(false);
            var next = first is null ? null : await SerialHeartbeat.WaitBeyondAsync(hb, first, bound.Token).ConfigureAwait(false);
            problem = next is null ? $"restored init {pid} runs but its heartbeat {(first is null ? $"stayed at {sent.LastBeat}" : $"stuck at {first}")} " +
                $"for {Seconds(options.VerifyTimeout)}" : null;
            beats = next is null ? null : (first!.Value, next.Value);
        }
        phases["verify"] = Ns(v);
        if (problem is not null)
        {
            ProcessTree.Signal([pid], ProcessTree.SigKill);
        }
        return new Verdict(problem, pid, restoredAt, beats);
    }
}
