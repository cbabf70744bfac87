using SafeHaven.Actuators.Agent;
using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.Actuators.Vm;

public sealed partial class VmActuator
{
    // The source's half: wait for the target agent's incoming twin, migrate, verify, stop the local copy.
    private async Task<IsolationResult> MigrateAsync(IsolationCommand cmd, QemuGuestSpec spec, IsolationResult result, CancellationToken ct)
    {
        var sourceDir = _options.DirectoryOf(_options.Id)!;
        var target = cmd.target!;
        var targetDir = _options.DirectoryOf(target)!;
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(_options.PrepareTimeout + _options.Migration.Timeout + _options.Migration.VerifyTimeout + TimeSpan.FromSeconds(30));
        try
        {
            await using var source = await QmpClient.ConnectAsync(QemuPaths.In(sourceDir, spec.Name, ".qmp"), _time, bound.Token).ConfigureAwait(false);
            var prepareStart = _time.GetTimestamp();
            await using var destination = await AwaitIncomingAsync(target, QemuPaths.In(targetDir, spec.Name, QemuGuest.PeerSuffix), bound.Token).ConfigureAwait(false);
            result.phases["prepare"] = _results.ElapsedNs(prepareStart);
            var uri = "unix:" + QemuPaths.In(targetDir, spec.Name, ".mig");
            var outcome = await QmpMigrator.MigrateAsync(source, destination, uri, QemuPaths.In(targetDir, spec.Name, ".serial"),
                SerialHeartbeat.Last(QemuPaths.In(sourceDir, spec.Name, ".serial")), _options.Migration, bound.Token).ConfigureAwait(false);
            foreach (var (name, ns) in outcome.PhasesNs)
            {
                result.phases[name] = ns;
            }
            result.phases["total"] = outcome.TotalNs;
            result.downtimeNs = outcome.DowntimeNs;
            result.bytesTransferred = outcome.BytesTransferred > 0 ? outcome.BytesTransferred : null;
            if (!outcome.Succeeded)
            {
                return _results.Finish(result, ResultStatus.Failed, $"migration of vm '{spec.Name}' to agent '{target}' failed: {outcome.Error}; guest at {outcome.GuestAt}");
            }
            // The guest lives on at the destination; the paused source copy must not be resumed by anyone.
            try
            {
                await source.ExecuteAsync("quit", null, bound.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is QmpException or IOException or OperationCanceledException)
            {
                // The move itself is verified: report it, and that a paused copy may be left here.
                return _results.Finish(result, ResultStatus.Succeeded, $"moved and verified; the paused source copy did not quit: {e.Message}");
            }
            return _results.Finish(result, ResultStatus.Succeeded, null);
        }
        catch (Exception e) when (e is QmpException or IOException or System.Net.Sockets.SocketException or OperationCanceledException or ArgumentException or InvalidOperationException)
        {
            return _results.Finish(result, ResultStatus.Failed, $"migration of vm '{spec.Name}' to agent '{target}' failed before it started: {e.Message}; guest at source");
        }
    }

    // The target agent prepares on its own command, which may come after ours: poll its peer socket
    // until a QEMU there waits for an incoming migration. A twin left running by an earlier move is
    // not taken for a fresh one.
    private async Task<QmpClient> AwaitIncomingAsync(string target, string peerSocket, CancellationToken ct)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(_options.PrepareTimeout);
        string seen = "no socket";
        try
        {
            while (true)
            {
                if (File.Exists(peerSocket))
                {
                    QmpClient? peer = null;
                    try
                    {
                        peer = await QmpClient.ConnectAsync(peerSocket, _time, bound.Token).ConfigureAwait(false);
                        var status = await peer.ExecuteAsync("query-status", null, bound.Token).ConfigureAwait(false);
                        seen = status.TryGetProperty("status", out var s) ? s.GetString() ?? "?" : "?";
                        if (seen == "inmigrate")
                        {
                            var ready = peer;
                            peer = null;
                            return ready;
                        }
                    }
                    catch (Exception e) when (e is QmpException or IOException or System.Net.Sockets.SocketException)
                    {
                        seen = e.Message;
                    }
                    finally
                    {
                        if (peer is not null)
                        {
                            await peer.DisposeAsync().ConfigureAwait(false);
                        }
                    }
                }
                await Task.Delay(20, bound.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new QmpException($"target agent '{target}' prepared no incoming side within {_options.PrepareTimeout.TotalSeconds:0.#} s (last seen: {seen})");
        }
    }
}
