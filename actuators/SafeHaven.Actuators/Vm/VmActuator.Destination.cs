using SafeHaven.Actuators.Agent;
using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.Actuators.Vm;

public sealed partial class VmActuator
{
    private static readonly string[] IncomingEnded = ["completed", "failed", "cancelled"];
    private static readonly string[] IncomingBroke = ["failed", "cancelled"];

    // The target's half: start the -incoming twin, watch the source migrate into it, verify it runs
    // and beats, and keep it. A twin that receives nothing, or a migration that fails before RESUME, is
    // killed: the guest then still runs at the source. From RESUME on the twin runs the guest (after the
    // switchover the source copy is only paused state), so whatever goes wrong later it is kept.
    private async Task<IsolationResult> ReceiveAsync(IsolationCommand cmd, QemuGuestSpec spec, IsolationResult result, CancellationToken ct)
    {
        var dir = _options.DirectoryOf(_options.Id)!;
        var prepareStart = _time.GetTimestamp();
        QemuGuest? twin = null;
        var resumed = false;
        try
        {
            // Starting a twin replaces the sockets of the name: a guest of that name running here must not lose them.
            if (await QmpAnswersAsync(QemuPaths.In(dir, spec.Name, ".qmp"), ct).ConfigureAwait(false))
            {
                throw new InvalidOperationException($"a vm named '{spec.Name}' already runs at this agent");
            }
            twin = QemuGuest.Start(spec, dir, incoming: true);
            await using var qmp = await ConnectBoundedAsync(twin, _options.PrepareTimeout, ct).ConfigureAwait(false);
            result.phases["prepare"] = _results.ElapsedNs(prepareStart);

            var waitStart = _time.GetTimestamp();
            using var begin = CancellationTokenSource.CreateLinkedTokenSource(ct);
            begin.CancelAfter(_options.PrepareTimeout);
            var first = await WaitAsync(qmp, e => e.Name is "MIGRATION" or "RESUME", waitStart,
                $"agent '{cmd.source}' began no migration within {_options.PrepareTimeout.TotalSeconds:0.#} s", begin.Token).ConfigureAwait(false);
            result.phases["wait"] = Ns(waitStart, first.ReceivedAt);

            using var move = CancellationTokenSource.CreateLinkedTokenSource(ct);
            move.CancelAfter(_options.Migration.Timeout);
            // Pre-copy completes before RESUME, post-copy after it: only a broken migration ends the wait early.
            var end = await WaitAsync(qmp, e => e.Name == "RESUME" || (e.Name == "MIGRATION" && IncomingBroke.Contains(e.DataString("status"))),
                waitStart, $"the incoming migration did not finish within {_options.Migration.Timeout.TotalSeconds:0} s", move.Token).ConfigureAwait(false);
            if (end.Name != "RESUME")
            {
                throw new QmpException($"incoming migration {end.DataString("status")}");
            }
            resumed = true;
            result.phases["incoming"] = Ns(first.ReceivedAt, end.ReceivedAt);
            // Post-copy: pages keep arriving after RESUME until the destination's migration completes.
            var done = await WaitAsync(qmp, e => e.Name == "MIGRATION" && IncomingEnded.Contains(e.DataString("status")),
                waitStart, "post-copy did not complete", move.Token).ConfigureAwait(false);
            if (done.DataString("status") != "completed")
            {
                throw new QmpException($"incoming post-copy {done.DataString("status")}: guest state is split between the hosts");
            }
            // A pre-copy that converged completes before RESUME: only a post-copy has a phase to report.
            if (qmp.Events.Any(e => e.ReceivedAt >= waitStart && e.IsMigration("postcopy-active")))
            {
                result.phases["postcopy"] = Math.Max(0, Ns(end.ReceivedAt, done.ReceivedAt));
            }

            var verifyStart = _time.GetTimestamp();
            // Continuity with the source's last beat is the source agent's check (it saw that beat); here: a beat, then a later one.
            var (problem, _) = await SerialHeartbeat.VerifyContinuesAsync(twin.SerialPath, null, _options.Migration.VerifyTimeout, ct).ConfigureAwait(false);
            result.phases["verify"] = _results.ElapsedNs(verifyStart);
            if (problem is not null)
            {
                throw new QmpException($"vm '{spec.Name}' resumed here but: {problem}");
            }
            result.phases["total"] = _results.ElapsedNs(prepareStart);
            lock (_received)
            {
                _received.Add(twin);
            }
            twin = null;
            return _results.Finish(result, ResultStatus.Succeeded, null);
        }
        catch (Exception e) when (e is QmpException or IOException or System.Net.Sockets.SocketException or OperationCanceledException or InvalidOperationException or ArgumentException)
        {
            var why = e is OperationCanceledException ? "agent stopping" : e.Message;
            if (resumed && twin is not null)
            {
                lock (_received)
                {
                    _received.Add(twin);
                }
                twin = null;
                return _results.Finish(result, ResultStatus.Failed, $"vm '{spec.Name}' resumed here and keeps running here, but: {why}");
            }
            return _results.Finish(result, ResultStatus.Failed, $"receiving vm '{spec.Name}' from agent '{cmd.source}' failed: {why}; incoming twin stopped, the guest stays with the source");
        }
        finally
        {
            twin?.Dispose();
        }
    }

    // True when a QEMU answers on that QMP socket (bounded to 2 s).
    private async Task<bool> QmpAnswersAsync(string socket, CancellationToken ct)
    {
        if (!File.Exists(socket))
        {
            return false;
        }
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            await using var qmp = await QmpClient.ConnectAsync(socket, _time, bound.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is QmpException or IOException or System.Net.Sockets.SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    private async Task<QmpClient> ConnectBoundedAsync(QemuGuest twin, TimeSpan timeout, CancellationToken ct)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(timeout);
        try
        {
            return await twin.ConnectQmpAsync(_time, bound.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new QmpException($"the incoming QEMU opened no QMP socket within {timeout.TotalSeconds:0.#} s: {twin.StandardError.Trim()}");
        }
    }

    private static async Task<QmpEvent> WaitAsync(QmpClient qmp, Func<QmpEvent, bool> match, long since, string timeoutError, CancellationToken bound)
    {
        try
        {
            return await qmp.WaitForEventAsync(match, since, bound).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (bound.IsCancellationRequested)
        {
            throw new QmpException(timeoutError);
        }
    }

    private long Ns(long from, long to) => _time.GetElapsedTime(from, to).Ticks * 100;
}
