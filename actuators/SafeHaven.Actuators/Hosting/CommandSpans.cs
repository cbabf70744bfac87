using System.Diagnostics;
using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.Actuators.Hosting;

/// <summary>What an agent's <c>actuate</c> span says about one command: its ids, outcome and each move phase.</summary>
internal static class CommandSpans
{
    /// <summary>Tags <paramref name="span"/> with the command and its result, one event per phase (its duration as a tag); nothing for null.</summary>
    public static void Describe(Activity? span, IsolationCommand cmd, IsolationResult result)
    {
        if (span is null)
        {
            return;
        }
        span.SetTag("safehaven.command_id", cmd.commandId)
            .SetTag("safehaven.level", cmd.level)
            .SetTag("safehaven.status", result.status)
            .SetTag("safehaven.dry_run", result.dryRun);
        foreach (var phase in result.phases ?? new Dictionary<string, long>())
        {
            span.AddEvent(new ActivityEvent("phase " + phase.Key, tags: new ActivityTagsCollection { ["safehaven.phase"] = phase.Key, ["safehaven.phase_ns"] = phase.Value }));
        }
        if (result.status is ResultStatus.Failed or ResultStatus.Rejected)
        {
            span.SetStatus(ActivityStatusCode.Error, result.error);
        }
    }
}
