using SafeHaven.Actuators.Agent;
using SafeHaven.Core;
using SafeHaven.Schemas;
using SafeHaven.Security;

namespace SafeHaven.Actuators.Container;

/// <summary>
/// A container agent. As the source of a <c>container</c>-level move (<c>isolate</c>, target = the target agent id) it
/// dumps the container into the target agent's page server and ends its copy once the target verified the
/// restore; as the target (<c>receive</c>) it prepares the page server, restores, verifies and keeps the
/// container. Each command ends in one <see cref="IsolationResult"/>; the host agent announces level
/// <c>container</c> only when <see cref="ProbeAsync"/> says CRIU works here.
/// </summary>
public sealed partial class ContainerActuator : IDisposable
{
    private readonly ContainerActuatorOptions _options;
    private readonly Results _results;
    private readonly CommandGate _commands;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private CriuCapability? _capability;

    /// <summary>Creates the agent.</summary>
    /// <param name="options">Id, agent directories and criu settings (validated here).</param>
    /// <param name="time">Clock for deadlines and timestamps (<see cref="TimeProvider.System"/> when null).</param>
    /// <param name="verifier">Trusted planner keys; when set, unsigned and badly signed commands are rejected.</param>
    /// <param name="journal">Started and finished commands across restarts (may be shared with nothing else).</param>
    public ContainerActuator(ContainerActuatorOptions options, TimeProvider? time = null, CommandVerifier? verifier = null, CommandJournal? journal = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _results = new Results(options.Id, time ?? TimeProvider.System);
        _commands = new CommandGate(options.Id, verifier, journal);
        Site = options.SiteOf(options.Id)!;
    }

    /// <summary>This agent's state directory (its containers).</summary>
    public ContainerSite Site { get; }

    /// <summary>
    /// Whether CRIU works here (cached after the first call). Announce <see cref="Levels.Container"/> only when
    /// <see cref="CriuCapability.Available"/>; put <see cref="CriuCapability.Reason"/> into the inventory otherwise.
    /// </summary>
    public async Task<CriuCapability> ProbeAsync(CancellationToken ct = default) =>
        _capability ??= await CriuCapability.ProbeAsync(_options.Criu, ct).ConfigureAwait(false);

    /// <summary>Validates and executes one command; never throws for anything the command holds.</summary>
    public async Task<IsolationResult> ExecuteAsync(IsolationCommand cmd, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(cmd);
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var start = _results.Timestamp();
            var result = _results.New(cmd.commandId ?? "", cmd.entity, cmd.level ?? "", cmd.dryRun);
            var verdict = Check(cmd, result.startedAtNs);
            result.phases["validate"] = _results.ElapsedNs(start);
            if (verdict is not null)
            {
                return _results.Finish(result, verdict.Value.Status, verdict.Value.Error);
            }
            var receive = cmd.action == Actions.Receive;
            var name = cmd.entity!.container!;
            if (cmd.dryRun)
            {
                return _results.Finish(result, ResultStatus.Skipped, receive
                    ? $"dry run: would receive container '{name}' from agent '{cmd.source}' ({_options.Criu.Mode})"
                    : $"dry run: would move container '{name}' to agent '{cmd.target}' with criu ({_options.Criu.Mode})");
            }
            if (_commands.Start(cmd) is { } unjournalled)
            {
                return _results.Finish(result, ResultStatus.Failed, unjournalled);
            }
            // Both halves derive one move id from the command ids the planner paired (receive = move id + suffix).
            var moveId = receive ? cmd.commandId![..^Actions.ReceiveIdSuffix.Length] : cmd.commandId!;
            ContainerMigrationResult outcome;
            try
            {
                outcome = receive
                    ? await ContainerMigrator.ReceiveAsync(Site, cmd.source!, name, moveId, _options.Criu, ct).ConfigureAwait(false)
                    : await ContainerMigrator.SendAsync(Site, _options.SiteOf(cmd.target)!, name, moveId, _options.Criu, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException
                or System.Text.Json.JsonException or ProcessGoneException or System.ComponentModel.Win32Exception)
            {
                // The halves end every failure after the freeze (source) or the restore (target) in a result of their
                // own, so what escapes them came before: the container has not left the source.
                result.phases["total"] = _results.ElapsedNs(start);
                return _results.Finish(result, ResultStatus.Failed,
                    $"container {cmd.action} of '{name}' failed: {e.Message} (container at {(receive ? cmd.source : _options.Id)})");
            }
            foreach (var (phase, ns) in outcome.PhasesNs)
            {
                result.phases[phase] = ns;
            }
            result.phases["total"] = outcome.TotalNs;
            result.bytesTransferred = outcome.ImageBytes > 0 ? outcome.ImageBytes : null;
            result.downtimeNs = outcome.DowntimeNs;
            return _results.Finish(result, outcome.Succeeded ? ResultStatus.Succeeded : ResultStatus.Failed,
                outcome.Succeeded ? null : $"{outcome.Error} (container at {outcome.ContainerAt})");
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Null when <paramref name="cmd"/> carries a trusted planner signature, else why not (see <see cref="CommandGate.Unauthentic"/>).</summary>
    public string? Unauthentic(IsolationCommand cmd) => _commands.Unauthentic(cmd);

    /// <summary>Records that <paramref name="result"/> was published: its command is no longer reconciled after a restart.</summary>
    public void Published(IsolationResult result) => _commands.Finished(result);

    private (string Status, string Error)? Check(IsolationCommand cmd, long nowNs)
    {
        if (_commands.Admit(cmd, nowNs) is { } refused)
        {
            return refused;
        }
        if (cmd.level != Levels.Container)
        {
            return Results.Reject($"level '{Identifiers.Printable(cmd.level)}' is not handled by the container agent (expected {Levels.Container})");
        }
        if (cmd.action is not (Actions.Isolate or Actions.Receive))
        {
            return Results.Reject($"action '{Identifiers.Printable(cmd.action)}' is not supported at the container level (expected {Actions.Isolate} or {Actions.Receive})");
        }
        if (cmd.action == Actions.Receive && !cmd.commandId!.EndsWith(Actions.ReceiveIdSuffix, StringComparison.Ordinal))
        {
            return Results.Reject($"receive command id '{Identifiers.Printable(cmd.commandId)}' does not end in '{Actions.ReceiveIdSuffix}'");
        }
        if (!Identifiers.IsLongToken(cmd.entity?.container))
        {
            return Results.Reject($"entity.container '{Identifiers.Printable(cmd.entity?.container)}' is not a valid container name");
        }
        var receive = cmd.action == Actions.Receive;
        var peer = receive ? cmd.source : cmd.target;
        // Not SiteOf: a peer's untrusted directory is a failure of the move (ExecuteAsync), not an exception here.
        if (!Identifiers.IsToken(peer) || peer == _options.Id || !_options.Agents.ContainsKey(peer!))
        {
            return Results.Reject($"{(receive ? "source" : "target")} '{Identifiers.Printable(peer)}' is not another known container agent");
        }
        if (_capability is { Available: false } cap)
        {
            return (ResultStatus.Failed, $"container moves are unavailable here: {cap.Reason}");
        }
        if (_options.Criu.Mode == CriuPageMode.LazyPages && _capability is { LazyPages: false } noLazy)
        {
            return (ResultStatus.Failed, $"lazy pages are configured but unavailable here: {noLazy.LazyPagesReason}");
        }
        if (receive)
        {
            return null;
        }
        try
        {
            return Site.Load(cmd.entity!.container!) is { IsRunning: true }
                ? null
                : (ResultStatus.Failed, $"container '{cmd.entity!.container}' does not run at agent '{_options.Id}'");
        }
        catch (Exception e) when (e is ArgumentException or IOException or InvalidOperationException or System.Text.Json.JsonException)
        {
            return (ResultStatus.Failed, $"container '{cmd.entity!.container}' has an unusable registry entry: {e.Message}");
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _gate.Dispose();
}
