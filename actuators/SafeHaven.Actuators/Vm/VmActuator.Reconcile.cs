using SafeHaven.Actuators.Agent;
using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.Actuators.Vm;

public sealed partial class VmActuator
{
    /// <summary>
    /// The results of the moves a crash of this agent cut short, read from the guests themselves: where
    /// the VM runs now (asked over QMP at the source and at the target). A source copy whose migration
    /// is still running is cancelled, so exactly one copy runs; nothing is migrated again.
    /// </summary>
    public Task<IReadOnlyList<IsolationResult>> ReconcileAsync(CancellationToken ct = default) =>
        _results.ReconcileAsync(_gate, _commands, e => new EntityRef { datacenter = "", host = _options.Id, vm = e.Vm }, ReconcileOneAsync, ct);

    private async Task<(string Status, string Error)> ReconcileOneAsync(JournalEntry e, CancellationToken ct)
    {
        var peer = e.Action == Actions.Receive ? e.Source : e.Target;
        if (e.Level != Levels.Vm || e.Vm is null || _options.DirectoryOf(peer) is not { } peerDir)
        {
            return (ResultStatus.Failed, $"agent restarted during {e.Level} {e.Action}; nothing this agent can read back");
        }
        if (IsLibvirt)
        {
            return await ReconcileLibvirtAsync(e, peer, ct).ConfigureAwait(false);
        }
        var here = QemuPaths.In(_options.DirectoryOf(_options.Id)!, e.Vm, ".qmp");
        var local = await StatusAsync(here, "query-migrate", ct).ConfigureAwait(false);
        if (e.Action == Actions.Receive)
        {
            return local.Run == "running"
                ? (ResultStatus.Succeeded, $"reconciled after an agent restart: vm '{e.Vm}' runs here")
                : (ResultStatus.Failed, $"agent restarted while receiving vm '{e.Vm}'; the copy here is {local.Run ?? "gone"}: the guest stays with agent '{peer}'");
        }
        if (local.Run == "running")
        {
            if (local.Migration is "setup" or "active" or "pre-switchover" or "device")
            {
                await StatusAsync(here, "migrate_cancel", ct).ConfigureAwait(false);
            }
            return (ResultStatus.Failed, $"agent restarted mid-migration; vm '{e.Vm}' runs at the source (migration {local.Migration ?? "none"}, cancelled if it was still running)");
        }
        var remote = await StatusAsync(QemuPaths.In(peerDir, e.Vm, QemuGuest.PeerSuffix), "query-migrate", ct).ConfigureAwait(false);
        if (remote.Run == "running" && local.Migration is "completed" or null)
        {
            // The move went through: the paused source copy must never be resumed.
            await StatusAsync(here, "quit", ct).ConfigureAwait(false);
            return (ResultStatus.Succeeded, $"reconciled after an agent restart: vm '{e.Vm}' runs at agent '{peer}'");
        }
        return (ResultStatus.Failed, $"agent restarted mid-migration; vm '{e.Vm}' is {local.Run ?? "gone"} here (migration {local.Migration ?? "unknown"}) and {remote.Run ?? "absent"} at agent '{peer}'");
    }

    // Run state and migration status of the QEMU behind a QMP socket, after an optional command;
    // nulls when no QEMU answers there.
    private async Task<(string? Run, string? Migration)> StatusAsync(string socket, string command, CancellationToken ct)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            await using var qmp = await QmpClient.ConnectAsync(socket, _time, bound.Token).ConfigureAwait(false);
            var run = await qmp.ExecuteAsync("query-status", null, bound.Token).ConfigureAwait(false);
            var state = run.TryGetProperty("status", out var s) ? s.GetString() : null;
            var reply = await qmp.ExecuteAsync(command, null, bound.Token).ConfigureAwait(false);
            var migration = command == "query-migrate" && reply.TryGetProperty("status", out var m) ? m.GetString() : null;
            return (state, migration);
        }
        catch (Exception x) when (x is QmpException or IOException or System.Net.Sockets.SocketException or OperationCanceledException)
        {
            return (null, null);
        }
    }
}
