using SafeHaven.Core;
using SafeHaven.Schemas;
using SafeHaven.Security;

namespace SafeHaven.Actuators.Agent;

/// <summary>
/// The checks every agent makes, in one order, before it looks at what a command asks: a valid id,
/// a trusted signature, addressed to this agent, not already started (also across restarts, through
/// the <see cref="CommandJournal"/>), a known level, not expired. Not thread-safe: agents call it
/// under their own one-move-at-a-time lock.
/// </summary>
public sealed class CommandGate
{
    // Enough to cover any redelivery window; the oldest ids are forgotten first.
    private const int RememberedCommands = 100_000;

    private readonly string _agentId;
    private readonly CommandVerifier? _verifier;
    private readonly CommandJournal? _journal;
    private readonly HashSet<string> _started = new(StringComparer.Ordinal);
    private readonly Queue<string> _startedOrder = new();
    private readonly Dictionary<string, string> _outcomes = new(StringComparer.Ordinal);

    /// <summary>Creates the gate of agent <paramref name="agentId"/>.</summary>
    /// <param name="agentId">Commands whose <c>source</c> (or, for <c>receive</c>, <c>target</c>) differs are foreign.</param>
    /// <param name="verifier">Trusted planner keys; when null, signatures are not checked (tests only).</param>
    /// <param name="journal">Started and finished commands across restarts; memory only when null.</param>
    public CommandGate(string agentId, CommandVerifier? verifier, CommandJournal? journal)
    {
        Identifiers.RequireToken(agentId, nameof(agentId));
        (_agentId, _verifier, _journal) = (agentId, verifier, journal);
        foreach (var id in journal?.Executed ?? [])
        {
            Remember(id);
        }
        // Only for the ids still remembered: the outcomes are bounded like the ids.
        foreach (var (id, status) in journal?.Outcomes ?? new Dictionary<string, string>())
        {
            if (_started.Contains(id))
            {
                _outcomes[id] = status;
            }
        }
    }

    /// <summary>Commands a crash cut short before their result was published (empty without a journal).</summary>
    public IReadOnlyCollection<JournalEntry> Unfinished => _journal?.Unfinished ?? [];

    /// <summary>
    /// Null when <paramref name="cmd"/> is signed by a trusted planner key (or signatures are not checked), else why not.
    /// Reads only the immutable trust store: safe outside the agent's lock.
    /// </summary>
    public string? Unauthentic(IsolationCommand cmd) => _verifier?.Problem(cmd);

    /// <summary>Null when the command may go on to the agent's own checks; else the status and reason to report.</summary>
    /// <param name="cmd">The command.</param>
    /// <param name="nowNs">Now, Unix ns (for the deadline).</param>
    /// <param name="verifySignature">False only for the agent's own warm-up commands.</param>
    public (string Status, string Error)? Admit(IsolationCommand cmd, long nowNs, bool verifySignature = true)
    {
        ArgumentNullException.ThrowIfNull(cmd);
        if (!Identifiers.IsId(cmd.commandId))
        {
            return Results.Reject("invalid command id");
        }
        if (verifySignature && _verifier?.Problem(cmd) is { } signature)
        {
            return Results.Reject(signature);
        }
        var (field, addressee) = CommandAddress.Of(cmd);
        if (addressee != _agentId)
        {
            return Results.Reject($"foreign command: {field} '{Identifiers.Printable(addressee)}' is not this agent '{_agentId}'");
        }
        if (_started.Contains(cmd.commandId!))
        {
            // A planner re-sends a command whose result it never saw: a failure must reach it as a failure, or it
            // would hold a slot for an entity that never moved.
            return _outcomes.GetValueOrDefault(cmd.commandId!) is { } outcome and (ResultStatus.Failed or ResultStatus.Rejected)
                ? (outcome, $"duplicate command: already executed, and it {outcome}")
                : (ResultStatus.Skipped, "duplicate command: already executed");
        }
        if (!Levels.All.Contains(cmd.level))
        {
            return Results.Reject($"unknown level '{Identifiers.Printable(cmd.level)}' (expected one of {string.Join(", ", Levels.All)})");
        }
        if (nowNs > cmd.deadlineNs)
        {
            // A result names its command id, not which copy it answers: when an expired copy and the planner's
            // re-send of the same id both wait in the topic, running the second after rejecting the first would
            // give one id two outcomes. So the id is answered: every later copy gets the same rejection. Only a
            // signed, addressed command gets here, so a forger cannot burn a genuine id this way.
            var expired = Results.Reject($"expired: deadline passed {(nowNs - cmd.deadlineNs) / 1_000_000} ms ago");
            Answered(cmd.commandId!, expired.Status);
            return expired;
        }
        return null;
    }

    /// <summary>
    /// Records that <paramref name="cmd"/> starts, before anything is touched: a redelivery during or
    /// after the move, or after a crash, must never start it a second time.
    /// </summary>
    /// <returns>Null, or why the command cannot be recorded (it must then not run).</returns>
    public string? Start(IsolationCommand cmd)
    {
        ArgumentNullException.ThrowIfNull(cmd);
        try
        {
            _journal?.Started(cmd);
        }
        catch (Exception e) when (e is IOException or ArgumentException)
        {
            return $"cannot journal the command, not executed: {e.Message}";
        }
        Remember(cmd.commandId!);
        return null;
    }

    /// <summary>Records that the result of a started command was published.</summary>
    public void Finished(IsolationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (Identifiers.IsId(result.commandId) && Identifiers.IsToken(result.status))
        {
            _journal?.Finished(result.commandId, result.status);
            if (_started.Contains(result.commandId))
            {
                _outcomes[result.commandId] = result.status;
            }
        }
    }

    private void Answered(string commandId, string status)
    {
        try
        {
            _journal?.Answered(commandId, status);
        }
        catch (IOException)
        {
            // Remembered in memory still; only a restart could forget it, and the planner retries a rejection under a new id.
        }
        Remember(commandId);
        _outcomes[commandId] = status;
    }

    private void Remember(string commandId)
    {
        if (_started.Add(commandId))
        {
            _startedOrder.Enqueue(commandId);
            if (_startedOrder.Count > RememberedCommands)
            {
                var forgotten = _startedOrder.Dequeue();
                _started.Remove(forgotten);
                _outcomes.Remove(forgotten);
            }
        }
    }
}
