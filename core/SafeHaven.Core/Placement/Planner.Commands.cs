using System.Globalization;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Placement;

// The commands the planner writes.
public sealed partial class Planner
{
    private long NowNs() => time.NowNs();

    // The step of a second attempt at a level after a rejection (see OnResult).
    private const string RetryStep = "-retry";

    private IsolationCommand NewCommand(string? detectionId, EntityRef entity, string source, string level, string action, string target,
        string? group, List<string> reasons, bool retry = false)
    {
        var nowNs = NowNs();
        return new IsolationCommand
        {
            commandId = CommandId(detectionId ?? "", (action == Actions.Release ? Actions.Release : level) + (retry ? RetryStep : "")),
            detectionId = detectionId,
            entity = entity,
            level = level,
            action = action,
            source = source,
            target = target,
            issuedAtNs = nowNs,
            deadlineNs = nowNs + settings.CommandTtl.Ticks * 100,
            dryRun = settings.DryRun,
            reasons = [.. reasons],
            group = group,
            keyId = null,
            signature = [],
        };
    }

    // The destination's half of a move: its result is the destination's report, not the move's
    // outcome (the source's result is), so the ledger does not wait for it.
    private static IsolationCommand ReceiveFor(IsolationCommand move) => new()
    {
        commandId = move.commandId + Actions.ReceiveIdSuffix,
        detectionId = move.detectionId,
        entity = move.entity,
        level = move.level,
        action = Actions.Receive,
        source = move.source,
        target = move.target,
        issuedAtNs = move.issuedAtNs,
        deadlineNs = move.deadlineNs,
        dryRun = move.dryRun,
        reasons = move.reasons,
        group = move.group,
        keyId = null,
        signature = [],
    };

    /// <summary>
    /// The id of the command a detection gets at a level: the same after a redelivery or a restart, so an agent
    /// that already ran it answers as a duplicate instead of running it twice. Readable when it fits the
    /// 128-character id limit; otherwise the detection id is replaced by its hash.
    /// </summary>
    public static string CommandId(string detectionId, string step)
    {
        var id = string.Create(CultureInfo.InvariantCulture, $"c-{detectionId}-{step}");
        if (id.Length <= 128 - Actions.ReceiveIdSuffix.Length && Identifiers.IsId(id))
        {
            return id;
        }
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(detectionId))[..16]);
        return string.Create(CultureInfo.InvariantCulture, $"c-{hash}-{step}");
    }
}
