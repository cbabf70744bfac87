using SafeHaven.Core;
using SafeHaven.Schemas;
using SafeHaven.Security;

namespace SafeHaven.Actuators.Vm;

/// <summary>
/// Executes <c>vm</c>-level <see cref="IsolationCommand"/>s as the source hypervisor agent of plain-QEMU guests:
/// validates, has the target agent prepare the incoming side, migrates through QMP (post-copy by default),
/// verifies the guest beats on the destination, stops the source, and reports one <see cref="IsolationResult"/>.
/// </summary>
public sealed class VmActuator : IDisposable
{
    private readonly VmActuatorOptions _options;
    private readonly IVmDestinations _destinations;
    private readonly TimeProvider _time;
    private readonly CommandVerifier? _verifier;
    private readonly CommandJournal? _journal;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly HashSet<string> _executed = new(StringComparer.Ordinal);

    /// <summary>Creates the agent.</summary>
    /// <param name="options">Id, agent directories and migration limits (validated here).</param>
    /// <param name="destinations">Prepares incoming twins at target agents.</param>
    /// <param name="time">Clock for deadlines, timestamps and event times (<see cref="TimeProvider.System"/> when null).</param>
    /// <param name="verifier">Trusted planner keys; when set, unsigned and badly signed commands are rejected.</param>
    /// <param name="journal">Executed command ids across restarts (may be shared with nothing else).</param>
    public VmActuator(VmActuatorOptions options, IVmDestinations destinations, TimeProvider? time = null,
        CommandVerifier? verifier = null, CommandJournal? journal = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(destinations);
        options.Validate();
        (_options, _destinations, _time, _verifier, _journal) = (options, destinations, time ?? TimeProvider.System, verifier, journal);
        _executed.UnionWith(journal?.Executed ?? []);
    }

    /// <summary>Validates and executes one command; never throws for anything the command holds.</summary>
    public async Task<IsolationResult> ExecuteAsync(IsolationCommand cmd, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(cmd);
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var start = _time.GetTimestamp();
            var result = new IsolationResult
            {
                commandId = cmd.commandId ?? "", entity = cmd.entity, level = cmd.level ?? "", actuator = _options.Id,
                startedAtNs = NowNs(), phases = new Dictionary<string, long>(), dryRun = cmd.dryRun,
            };
            var verdict = Check(cmd, result.startedAtNs, out var spec);
            result.phases["validate"] = ElapsedNs(start);
            if (verdict is not null)
            {
                return Finish(result, verdict.Value.Status, verdict.Value.Error);
            }
            if (cmd.dryRun)
            {
                return Finish(result, ResultStatus.Skipped, $"dry run: would migrate vm '{spec!.Name}' ({spec.MemoryMb} MiB) post-copy to agent '{cmd.target}'");
            }
            // Recorded before the move starts: a redelivery during or after it must never start a second one.
            _executed.Add(cmd.commandId!);
            _journal?.Append(cmd.commandId!);
            return await MigrateAsync(cmd, spec!, result, ct).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<IsolationResult> MigrateAsync(IsolationCommand cmd, QemuGuestSpec spec, IsolationResult result, CancellationToken ct)
    {
        var sourceDir = _options.DirectoryOf(_options.Id)!;
        var target = cmd.target!;
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(_options.Migration.Timeout + _options.Migration.VerifyTimeout + TimeSpan.FromSeconds(30));
        QemuGuest? incoming = null;
        try
        {
            await using var source = await QmpClient.ConnectAsync(QemuPaths.In(sourceDir, spec.Name, ".qmp"), _time, bound.Token).ConfigureAwait(false);
            var prepareStart = _time.GetTimestamp();
            incoming = _destinations.PrepareIncoming(target, spec);
            await using var destination = await incoming.ConnectQmpAsync(_time, bound.Token).ConfigureAwait(false);
            result.phases["prepare"] = ElapsedNs(prepareStart);
            var uri = "unix:" + QemuPaths.In(incoming.Directory, spec.Name, ".mig");
            var outcome = await QmpMigrator.MigrateAsync(source, destination, uri, incoming.SerialPath,
                SerialHeartbeat.Last(QemuPaths.In(sourceDir, spec.Name, ".serial")), _options.Migration, bound.Token).ConfigureAwait(false);
            foreach (var (name, ns) in outcome.PhasesNs)
            {
                result.phases[name] = ns;
            }
            result.phases["total"] = outcome.TotalNs;
            result.downtimeNs = outcome.DowntimeNs;
            if (!outcome.Succeeded)
            {
                return Finish(result, ResultStatus.Failed, $"migration of vm '{spec.Name}' to agent '{target}' ({incoming.QmpSocket}) failed: {outcome.Error}; guest at {outcome.GuestAt}");
            }
            // The guest lives on at the destination; the paused source copy must not be resumed by anyone.
            await source.ExecuteAsync("quit", null, bound.Token).ConfigureAwait(false);
            return Finish(result, ResultStatus.Succeeded, null);
        }
        catch (Exception e) when (e is QmpException or IOException or System.Net.Sockets.SocketException or OperationCanceledException or ArgumentException or InvalidOperationException)
        {
            return Finish(result, ResultStatus.Failed, $"migration of vm '{spec.Name}' to agent '{target}' failed before it started: {e.Message}; guest at source");
        }
    }

    private (string Status, string Error)? Check(IsolationCommand cmd, long nowNs, out QemuGuestSpec? spec)
    {
        spec = null;
        if (!Identifiers.IsId(cmd.commandId))
        {
            return Reject("invalid command id");
        }
        if (_verifier?.Problem(cmd) is { } signature)
        {
            return Reject(signature);
        }
        if (cmd.source != _options.Id)
        {
            return Reject($"foreign command: source '{Printable(cmd.source)}' is not this hypervisor agent '{_options.Id}'");
        }
        if (_executed.Contains(cmd.commandId!))
        {
            return (ResultStatus.Skipped, "duplicate command: already executed");
        }
        if (cmd.level != Levels.Vm)
        {
            return Reject($"level '{Printable(cmd.level)}' is not handled by the hypervisor agent (expected {Levels.Vm})");
        }
        if (nowNs > cmd.deadlineNs)
        {
            return Reject($"expired: deadline passed {(nowNs - cmd.deadlineNs) / 1_000_000} ms ago");
        }
        if (cmd.action != Actions.Isolate)
        {
            return Reject($"action '{Printable(cmd.action)}' is not supported at the vm level (expected {Actions.Isolate})");
        }
        if (!Identifiers.IsLongToken(cmd.entity?.vm))
        {
            return Reject($"entity.vm '{Printable(cmd.entity?.vm)}' is not a valid VM name");
        }
        if (!Identifiers.IsToken(cmd.target) || cmd.target == _options.Id || _options.DirectoryOf(cmd.target) is null)
        {
            return Reject($"target '{Printable(cmd.target)}' is not another known hypervisor agent");
        }
        try
        {
            spec = QemuGuestSpec.Load(_options.DirectoryOf(_options.Id)!, cmd.entity!.vm!);
        }
        catch (Exception e) when (e is ArgumentException or IOException or System.Text.Json.JsonException)
        {
            return (ResultStatus.Failed, $"vm '{cmd.entity!.vm}' has an unusable definition: {e.Message}");
        }
        return spec is null ? (ResultStatus.Failed, $"vm '{cmd.entity!.vm}' is not a guest of this agent") : null;
    }

    private static (string, string) Reject(string error) => (ResultStatus.Rejected, error);

    // Echo command fields without control characters, so an error cannot forge log lines.
    private static string Printable(string? value) =>
        value is null ? "null" : new string([.. value.Take(80).Select(c => char.IsControl(c) ? '?' : c)]);

    private IsolationResult Finish(IsolationResult result, string status, string? error)
    {
        result.status = status;
        result.error = error;
        result.finishedAtNs = NowNs();
        return result;
    }

    private long NowNs() => (_time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;

    private long ElapsedNs(long start) => _time.GetElapsedTime(start).Ticks * 100;

    /// <inheritdoc/>
    public void Dispose() => _gate.Dispose();
}
