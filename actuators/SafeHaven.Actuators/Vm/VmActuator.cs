using SafeHaven.Actuators.Agent;
using SafeHaven.Core;
using SafeHaven.Schemas;
using SafeHaven.Security;

namespace SafeHaven.Actuators.Vm;

/// <summary>
/// A hypervisor agent for plain-QEMU guests. As the source of a <c>vm</c>-level move (<c>isolate</c>) it waits
/// for the target agent's incoming twin, migrates through QMP (post-copy by default), verifies the guest beats
/// on the destination and stops its copy. As the target (<c>receive</c>) it starts the <c>-incoming</c> twin,
/// watches it resume and beat, and owns it from then on. Each command ends in one <see cref="IsolationResult"/>.
/// </summary>
public sealed partial class VmActuator : IDisposable
{
    private readonly VmActuatorOptions _options;
    private readonly TimeProvider _time;
    private readonly Results _results;
    private readonly CommandGate _commands;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly List<QemuGuest> _received = [];

    /// <summary>Creates the agent.</summary>
    /// <param name="options">Id, agent directories and migration limits (validated here).</param>
    /// <param name="time">Clock for deadlines, timestamps and event times (<see cref="TimeProvider.System"/> when null).</param>
    /// <param name="verifier">Trusted planner keys; when set, unsigned and badly signed commands are rejected.</param>
    /// <param name="journal">Started and finished commands across restarts (may be shared with nothing else).</param>
    public VmActuator(VmActuatorOptions options, TimeProvider? time = null, CommandVerifier? verifier = null, CommandJournal? journal = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        (_options, _time) = (options, time ?? TimeProvider.System);
        _results = new Results(options.Id, _time);
        _commands = new CommandGate(options.Id, verifier, journal);
        // Incoming guests write their serial file and listen for the migration stream here, also under libvirt,
        // whose daemon creates no directories for them; the QMP sockets in it control guests.
        PrivateDirectory.Ensure(options.DirectoryOf(options.Id)!);
    }

    /// <summary>Guests this agent received and runs as its own QEMU children (backend <c>qmp</c>; libvirt's daemon owns its guests).</summary>
    public IReadOnlyList<QemuGuest> Received
    {
        get
        {
            lock (_received)
            {
                return [.. _received];
            }
        }
    }

    /// <summary>Validates and executes one command; never throws for anything the command holds.</summary>
    public async Task<IsolationResult> ExecuteAsync(IsolationCommand cmd, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(cmd);
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var start = _time.GetTimestamp();
            var result = _results.New(cmd.commandId ?? "", cmd.entity, cmd.level ?? "", cmd.dryRun);
            var verdict = Check(cmd, result.startedAtNs, out var spec);
            result.phases["validate"] = _results.ElapsedNs(start);
            if (verdict is not null)
            {
                return _results.Finish(result, verdict.Value.Status, verdict.Value.Error);
            }
            var receive = cmd.action == Actions.Receive;
            if (cmd.dryRun)
            {
                return _results.Finish(result, ResultStatus.Skipped, receive
                    ? $"dry run: would start an incoming twin of vm '{spec!.Name}' ({spec.MemoryMb} MiB) for agent '{cmd.source}'"
                    : $"dry run: would migrate vm '{spec!.Name}' ({spec.MemoryMb} MiB) post-copy to agent '{cmd.target}'");
            }
            if (_commands.Start(cmd) is { } unjournalled)
            {
                return _results.Finish(result, ResultStatus.Failed, unjournalled);
            }
            return (receive, IsLibvirt) switch
            {
                (true, false) => await ReceiveAsync(cmd, spec!, result, ct).ConfigureAwait(false),
                (true, true) => await ReceiveLibvirtAsync(cmd, spec!, result, ct).ConfigureAwait(false),
                (false, false) => await MigrateAsync(cmd, spec!, result, ct).ConfigureAwait(false),
                (false, true) => await MigrateLibvirtAsync(cmd, spec!, result, ct).ConfigureAwait(false),
            };
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

    private (string Status, string Error)? Check(IsolationCommand cmd, long nowNs, out QemuGuestSpec? spec)
    {
        spec = null;
        if (_commands.Admit(cmd, nowNs) is { } refused)
        {
            return refused;
        }
        if (cmd.level != Levels.Vm)
        {
            return Results.Reject($"level '{Identifiers.Printable(cmd.level)}' is not handled by the hypervisor agent (expected {Levels.Vm})");
        }
        if (cmd.action is not (Actions.Isolate or Actions.Receive))
        {
            return Results.Reject($"action '{Identifiers.Printable(cmd.action)}' is not supported at the vm level (expected {Actions.Isolate} or {Actions.Receive})");
        }
        if (!Identifiers.IsLongToken(cmd.entity?.vm))
        {
            return Results.Reject($"entity.vm '{Identifiers.Printable(cmd.entity?.vm)}' is not a valid VM name");
        }
        // The peer must be another agent this one knows: its directory is where the guest comes from or goes to.
        var peer = cmd.action == Actions.Receive ? cmd.source : cmd.target;
        if (!Identifiers.IsToken(peer) || peer == _options.Id || _options.DirectoryOf(peer) is null)
        {
            return Results.Reject($"{(cmd.action == Actions.Receive ? "source" : "target")} '{Identifiers.Printable(peer)}' is not another known hypervisor agent");
        }
        // The definition lives with the guest's current agent, the source of the move.
        var home = _options.DirectoryOf(cmd.source)!;
        try
        {
            spec = QemuGuestSpec.Load(home, cmd.entity!.vm!);
        }
        catch (Exception e) when (e is ArgumentException or IOException or System.Text.Json.JsonException)
        {
            return (ResultStatus.Failed, $"vm '{cmd.entity!.vm}' has an unusable definition: {e.Message}");
        }
        return spec is null ? (ResultStatus.Failed, $"vm '{cmd.entity!.vm}' is not a guest of agent '{cmd.source}'") : null;
    }

    /// <summary>Lets go of the guests this agent received (kills them with <see cref="VmActuatorOptions.StopReceivedGuestsOnDispose"/>).</summary>
    public void Dispose()
    {
        lock (_received)
        {
            // Tenants' guests outlive a restart of their agent unless the options say this agent owns them for good.
            _received.ForEach(g =>
            {
                if (_options.StopReceivedGuestsOnDispose)
                {
                    g.Dispose();
                }
                else
                {
                    g.Detach();
                }
            });
            _received.Clear();
        }
        _gate.Dispose();
    }
}
