using System.Diagnostics;
using SafeHaven.Actuators.Agent;

namespace SafeHaven.Actuators.Container;

public static partial class ContainerMigrator
{
    /// <summary>Registers the restored <paramref name="pid"/> here; null when done, else why not.</summary>
    internal static string? Register(ContainerSite target, Sent sent, string sourceAgentId, int pid)
    {
        try
        {
            target.Save(new ContainerRecord
            {
                Spec = sent.Record!.Spec, InitPid = pid, InitStartTime = ProcFs.Default.StartTime(pid), LogFile = sent.Record.LogFile, MovedFrom = sourceAgentId,
            });
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException
            or ProcessGoneException or FormatException)
        {
            return e.Message;
        }
    }

    // The lazy-pages daemon exits by itself once every page arrived; only a failed move leaves it waiting.
    private static void EndLazyPagesDaemon(Handoff handoff, bool lazy)
    {
        if (lazy && ReadPid(Path.Join(handoff.Images, "lazy-pages.pid")) is { } daemon)
        {
            ProcessTree.TrySignal([daemon], ProcessTree.SigKill);
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
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or ProcessGoneException
            or FormatException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            // The source waits for a verdict: it must get one, whatever happened here, and a tree restored before the
            // exception must not run beside the copy the source resumes then.
            verdict = new Verdict(e is OperationCanceledException ? "cancelled" : e.Message, 0, null, null);
            if (ReadPid(Path.Join(handoff.Images, "restored.pid")) is { } restored)
            {
                ProcessTree.TrySignal([restored], ProcessTree.SigKill);
            }
        }
        if (verdict.Error is not null)
        {
            EndLazyPagesDaemon(handoff, lazy);
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
        if (ProcFs.Default.State(pid) is null or 'Z' or 'X')
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
