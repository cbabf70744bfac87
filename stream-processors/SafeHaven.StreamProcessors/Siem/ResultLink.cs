using SafeHaven.Core;

namespace SafeHaven.StreamProcessors.Siem;

/// <summary>
/// What an <c>IsolationResult</c> says about its command, read from the command id alone (the projector reads
/// detections and results only, as the secured profile's <c>siem</c> principal may). The planner names commands
/// <c>c-DETECTIONID-STEP</c> (<c>Planner.CommandId</c>): STEP is the level or <c>release</c>, then <c>-retry</c> for a
/// second attempt; a move across datacenters adds <c>-xdcEPOCH</c> after the level; a destination's half of a move adds
/// <c>-in</c>, and the planner's notice of a late receive's ledger conflict <c>-in-conflict</c>. Ids too long for that carry
/// a hash of the detection id instead, and the moving-target scheduler names its own: those have no finding to link.
/// </summary>
/// <param name="DetectionId">The detection the command answers (the finding's uid), or null when the id does not say.</param>
/// <param name="Action">The command's action: <c>isolate</c>, <c>release</c> or <c>receive</c>.</param>
public sealed record ResultLink(string? DetectionId, string Action)
{
    private const string Retry = "-retry";

    /// <summary>Reads <paramref name="commandId"/>; never throws.</summary>
    public static ResultLink Of(string commandId)
    {
        var id = commandId ?? "";
        // The planner's notice of a late receive's ledger conflict names the receive it is about.
        if (id.EndsWith(SafeHaven.Core.Placement.Planner.ConflictSuffix, StringComparison.Ordinal))
        {
            id = id[..^SafeHaven.Core.Placement.Planner.ConflictSuffix.Length];
        }
        var action = Actions.Isolate;
        if (id.EndsWith(Actions.ReceiveIdSuffix, StringComparison.Ordinal))
        {
            action = Actions.Receive;
            id = id[..^Actions.ReceiveIdSuffix.Length];
        }
        if (id.EndsWith(Retry, StringComparison.Ordinal))
        {
            id = id[..^Retry.Length];
        }
        var dash = id.LastIndexOf('-');
        // A cross-datacenter move's commands add the lease epoch after the level (-LEVEL-xdcEPOCH).
        if (dash > 2 && id.AsSpan(dash + 1) is ['x', 'd', 'c', _, ..] epoch && epoch[3..].IndexOfAnyExceptInRange('0', '9') < 0)
        {
            id = id[..dash];
            dash = id.LastIndexOf('-');
        }
        if (!id.StartsWith("c-", StringComparison.Ordinal) || dash < 2)
        {
            return new ResultLink(null, action);
        }
        var step = id[(dash + 1)..];
        if (step == Actions.Release)
        {
            action = Actions.Release;
        }
        else if (!Levels.All.Contains(step))
        {
            return new ResultLink(null, action);
        }
        var detection = id[2..dash];
        // A 32-hex-digit middle is the hash the planner substitutes for a detection id too long to embed; detection
        // ids themselves always contain ':' (host:windowEnd:seq:rule).
        return new ResultLink(detection.Contains(':', StringComparison.Ordinal) ? detection : null, action);
    }
}
