using SafeHaven.Actuators.Agent;
using SafeHaven.Actuators.Vm.Libvirt;
using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.Actuators.Vm;

public sealed partial class VmActuator
{
    private bool IsLibvirt => _options.Backend == VmBackends.Libvirt;

    // The source's half with libvirt: the destination daemon prepares the incoming QEMU itself (libvirt's
    // peer-to-peer Prepare step), but only once the target agent accepted its own signed receive command
    // (its marker names that command): a target that refused, is down or already runs the name gets nothing.
    // LibvirtMigrator verifies the guest runs and beats at the destination before it reports success.
    private async Task<IsolationResult> MigrateLibvirtAsync(IsolationCommand cmd, QemuGuestSpec spec, IsolationResult result, CancellationToken ct)
    {
        var target = cmd.target!;
        var (sourceDir, targetDir) = (_options.DirectoryOf(_options.Id)!, _options.DirectoryOf(target)!);
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(_options.Migration.Timeout + _options.Migration.VerifyTimeout + TimeSpan.FromSeconds(30));
        try
        {
            var prepareStart = _time.GetTimestamp();
            await AwaitAcceptedAsync(target, QemuPaths.In(targetDir, spec.Name, ReceivingSuffix), cmd.commandId + Actions.ReceiveIdSuffix, bound.Token).ConfigureAwait(false);
            result.phases["prepare"] = _results.ElapsedNs(prepareStart);
            var outcome = await LibvirtMigrator.MigrateAsync(_options.LibvirtOf(_options.Id)!, _options.LibvirtOf(target)!, spec.Name,
                QemuPaths.In(targetDir, spec.Name, ".serial"), SerialHeartbeat.Last(QemuPaths.In(sourceDir, spec.Name, ".serial")),
                _options.Migration, "unix://" + QemuPaths.In(targetDir, spec.Name, ".mig"), bound.Token).ConfigureAwait(false);
            foreach (var (name, ns) in outcome.PhasesNs)
            {
                result.phases[name] = ns;
            }
            result.phases["total"] = outcome.TotalNs;
            result.downtimeNs = outcome.DowntimeNs;
            result.bytesTransferred = outcome.BytesTransferred > 0 ? outcome.BytesTransferred : null;
            return outcome.Succeeded
                ? _results.Finish(result, ResultStatus.Succeeded, outcome.Error)
                : _results.Finish(result, ResultStatus.Failed, $"libvirt migration of vm '{spec.Name}' to agent '{target}' failed: {outcome.Error}; guest at {outcome.GuestAt}");
        }
        catch (Exception e) when (e is LibvirtException or IOException or OperationCanceledException or ArgumentException or InvalidOperationException)
        {
            return _results.Finish(result, ResultStatus.Failed, $"libvirt migration of vm '{spec.Name}' to agent '{target}' failed before it started: {e.Message}; guest at source");
        }
    }

    // The target's half with libvirt: watch this agent's daemon until the guest arrives and runs, then
    // check it beats, and keep its definition beside this agent's other guests.
    private async Task<IsolationResult> ReceiveLibvirtAsync(IsolationCommand cmd, QemuGuestSpec spec, IsolationResult result, CancellationToken ct)
    {
        var daemon = _options.LibvirtOf(_options.Id)!;
        var dir = _options.DirectoryOf(_options.Id)!;
        var serial = QemuPaths.In(dir, spec.Name, ".serial");
        var marker = QemuPaths.In(dir, spec.Name, ReceivingSuffix);
        var start = _time.GetTimestamp();
        try
        {
            if (await daemon.StateAsync(spec.Name, ct).ConfigureAwait(false) is { } resident)
            {
                throw new LibvirtException($"a domain named '{spec.Name}' is already defined here ({resident})");
            }
            // The source waits for this before it migrates: the move proceeds only with this agent's consent.
            File.WriteAllText(marker, cmd.commandId);
            var appeared = await PollAsync(daemon, spec.Name, s => s is not null, _options.PrepareTimeout, ct).ConfigureAwait(false)
                ?? throw new LibvirtException($"agent '{cmd.source}' sent no guest within {_options.PrepareTimeout.TotalSeconds:0.#} s");
            var seen = _time.GetTimestamp();
            result.phases["wait"] = Ns(start, seen);
            var running = await PollAsync(daemon, spec.Name, s => s is null || s.IsRunning || s.PostcopyFailed, _options.Migration.Timeout, ct).ConfigureAwait(false);
            if (running is not { IsRunning: true })
            {
                throw new LibvirtException($"the incoming guest is {running?.ToString() ?? "gone"}, not running (first seen {appeared})");
            }
            result.phases["incoming"] = _results.ElapsedNs(seen);
            var verifyStart = _time.GetTimestamp();
            // Continuity with the source's last beat is the source agent's check (it saw that beat); here: a beat, then a later one.
            var (problem, _) = await SerialHeartbeat.VerifyContinuesAsync(serial, null, _options.Migration.VerifyTimeout, ct).ConfigureAwait(false);
            result.phases["verify"] = _results.ElapsedNs(verifyStart);
            if (problem is not null)
            {
                throw new LibvirtException($"vm '{spec.Name}' runs here but: {problem} ({serial})");
            }
            spec.Save(dir);
            result.phases["total"] = _results.ElapsedNs(start);
            return _results.Finish(result, ResultStatus.Succeeded, null);
        }
        catch (Exception e) when (e is LibvirtException or IOException or OperationCanceledException or ArgumentException)
        {
            var why = e is OperationCanceledException ? "agent stopping" : e.Message;
            return _results.Finish(result, ResultStatus.Failed, $"receiving vm '{spec.Name}' from agent '{cmd.source}' through libvirt failed: {why}");
        }
        finally
        {
            File.Delete(marker);
        }
    }

    private const string ReceivingSuffix = ".receiving";

    // Polls for the target agent's marker naming its receive command, up to PrepareTimeout.
    private async Task AwaitAcceptedAsync(string target, string marker, string receiveId, CancellationToken ct)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(_options.PrepareTimeout);
        try
        {
            while (!(File.Exists(marker) && ReadOrNull(marker) == receiveId))
            {
                await Task.Delay(20, bound.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new LibvirtException($"target agent '{target}' accepted no receive command '{receiveId}' within {_options.PrepareTimeout.TotalSeconds:0.#} s");
        }
    }

    private static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return null;
        }
    }

    // The domain's state once it satisfies done, polled every 50 ms; null when the wait ran out first.
    private static async Task<LibvirtDomainState?> PollAsync(LibvirtConnection daemon, string domain, Func<LibvirtDomainState?, bool> done,
        TimeSpan timeout, CancellationToken ct)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(timeout);
        try
        {
            while (true)
            {
                var state = await daemon.StateAsync(domain, bound.Token).ConfigureAwait(false);
                if (done(state))
                {
                    return state;
                }
                await Task.Delay(50, bound.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return null;
        }
    }

    private async Task<(string Status, string Error)> ReconcileLibvirtAsync(JournalEntry e, string peer, CancellationToken ct)
    {
        async Task<LibvirtDomainState?> At(string agent)
        {
            try
            {
                return await _options.LibvirtOf(agent)!.StateAsync(e.Vm!, ct).ConfigureAwait(false);
            }
            catch (LibvirtException)
            {
                return null;
            }
        }
        var here = await At(_options.Id).ConfigureAwait(false);
        var there = await At(peer).ConfigureAwait(false);
        var (local, remote) = (here?.ToString() ?? "absent", there?.ToString() ?? "absent");
        if (e.Action == Actions.Receive)
        {
            return here is { IsRunning: true }
                ? (ResultStatus.Succeeded, $"reconciled after an agent restart: vm '{e.Vm}' runs here")
                : (ResultStatus.Failed, $"agent restarted while receiving vm '{e.Vm}'; here it is {local}, at agent '{peer}' {remote}");
        }
        return there is { IsRunning: true } && here is not { IsRunning: true }
            ? (ResultStatus.Succeeded, $"reconciled after an agent restart: vm '{e.Vm}' runs at agent '{peer}'")
            : (ResultStatus.Failed, $"agent restarted mid-migration; vm '{e.Vm}' is {local} here and {remote} at agent '{peer}'");
    }
}
