using Microsoft.Extensions.Logging;
using SafeHaven.Core.Placement;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Telemetry;

namespace SafeHaven.StreamProcessors.Planning;

// Another datacenter's receive answered after its booking was given back (docs/LEDGER.md, "Late receives"): every outcome
// is counted and logged, a refusal as a warning (it changed nothing, but a forged or replayed record is worth a look), and a
// conflict also goes to the SIEM as a failed result, since the projector reads results and not the ledger.
internal sealed partial class PlannerSession
{
    private void NoteLate(PlanDecision decision)
    {
        if (decision.Late is not { } late)
        {
            return;
        }
        SafeHavenMetrics.LateReceive(late.Outcome);
        if (late.Refused || late.Outcome is LateReceiveOutcomes.Conflict or LateReceiveOutcomes.Dropped)
        {
            LogLateWarning(logger, late.Outcome, late.Reason);
        }
        else
        {
            LogLate(logger, late.Outcome, late.Reason);
        }
        if (late.Notice is { } notice)
        {
            notice.cluster = kafka.Options.Cluster;
            ConsumeLoop.Produce(producer, _skipped, kafka.Topics.Results, notice.commandId, notice, OnDelivery,
                RoleSeals.With(kafka.Seals.Planner, Seals.Kinds.Results), _acks);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "planner: late receive {Outcome}: {Reason}")]
    private static partial void LogLateWarning(ILogger logger, string outcome, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "planner: late receive {Outcome}: {Reason}")]
    private static partial void LogLate(ILogger logger, string outcome, string reason);
}
