using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using SafeHaven.Core;
using SafeHaven.Core.Placement;
using SafeHaven.Kafka.Clients;

namespace SafeHaven.StreamProcessors.Planning;

// Writing a decision: ledger first, then commands, all acknowledged before the input's offset is committed.
internal sealed partial class PlannerSession
{
    private void Send(PlanDecision decision)
    {
        // Outside a span (a retry, an expiry), the decision's command still joins its detection's trace.
        using var span = _traces.Continue(decision);
        if (decision.Reasons.Count > 0)
        {
            LogDecision(logger, decision.Reasons);
        }
        var topics = kafka.Topics;
        var cluster = kafka.Options.Cluster;
        foreach (var record in decision.Records)
        {
            record.cluster = cluster;
            // Partition 0 explicitly: the ledger's one partition is also the lease.
            var message = new Message<string, byte[]>
            {
                Key = record.slot,
                Value = _ledger.Serialize(record, new SerializationContext(MessageComponentType.Value, topics.Placements)),
            };
            if (kafka.Seals.Planner is { } key)
            {
                message.Headers = Seals.Headers(key, Seals.Kinds.Placements, message.Key, message.Value);
            }
            _acks.Produce(producer, new TopicPartition(topics.Placements, 0), message, OnDelivery);
        }
        if (decision.Records.Count > 0 && (decision.Receive is not null || decision.Command is not null))
        {
            // The booking is on the broker before the command leaves: a crash in between leaves a booking and no command
            // (re-sent on expiry), never a command the ledger does not know.
            Acknowledge(CancellationToken.None);
        }
        if (decision.Preempt is { } preempt)
        {
            // Same actuator, same partition, sent first: the moving-target entity leaves the CPU before the suspect arrives.
            preempt.cluster = cluster;
            signer.Sign(preempt);
            ConsumeLoop.Produce(producer, _commands, topics.Commands, preempt.Addressee(), preempt, OnDelivery, acks: _acks);
            Kafka.Telemetry.SafeHavenMetrics.CommandIssued(preempt.level, preempt.action);
        }
        if (decision.Receive is { } receive)
        {
            receive.cluster = cluster;
            signer.Sign(receive);
            ConsumeLoop.Produce(producer, _commands, topics.Commands, receive.Addressee(), receive, OnDelivery, acks: _acks);
            Kafka.Telemetry.SafeHavenMetrics.CommandIssued(receive.level, receive.action);
        }
        if (decision.Command is { } cmd)
        {
            cmd.cluster = cluster;
            signer.Sign(cmd);
            ConsumeLoop.Produce(producer, _commands, topics.Commands, cmd.Addressee(), cmd, OnDelivery, acks: _acks);
            Kafka.Telemetry.SafeHavenMetrics.CommandIssued(cmd.level, cmd.action);
        }
        NoteLate(decision);
        if (decision.Skipped is { } skipped)
        {
            // Over a budget or in cooldown: the SIEM sees a skipped outcome naming why, and nothing moves.
            skipped.cluster = cluster;
            ConsumeLoop.Produce(producer, _skipped, topics.Results, skipped.commandId, skipped, OnDelivery,
                RoleSeals.With(kafka.Seals.Planner, Seals.Kinds.Results), _acks);
            Kafka.Telemetry.SafeHavenMetrics.BudgetSkipped(skipped.level);
        }
    }

    private void OnDelivery(DeliveryReport<string, byte[]> report)
    {
        if (report.Error.IsError)
        {
            // On the producer's poll thread; read after Acknowledge's wait, which orders the two.
            Interlocked.CompareExchange(ref _deliveryError, $"{report.Topic}: {report.Error.Reason}", null);
        }
    }

    // Blocks until every ledger record, command and dead letter of this session has its delivery report (acks=all).
    // A ledger record or command that failed stops the planner without committing: a restart re-reads the input, and
    // the ledger keeps it from acting twice. Waiting for the reports, not Flush: Flush costs ≈10 ms a call
    // (see Acknowledgements), twice per decision. No timeout, as Flush(ct) had none: librdkafka reports every record
    // within message.timeout.ms; ct cancels.
    private void Acknowledge(CancellationToken ct)
    {
        _acks.Wait(Timeout.InfiniteTimeSpan, ct);
        if (Volatile.Read(ref _deliveryError) is { } error)
        {
            throw new PlannerDeliveryException($"planner {options.InstanceId}: a ledger record or command was not acknowledged ({error}); stopping without committing");
        }
    }

    public void Dispose()
    {
        StopCrossDc();
        _ledgerGauge?.Dispose();
        _watch?.Dispose();
        if (_work is { } work)
        {
            work.Close();
            work.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "planner: {Reasons}")]
    private static partial void LogDecision(ILogger logger, IReadOnlyList<string> reasons);
}

/// <summary>An input the planner's policy refuses outright (stale, a protected entity): dead-lettered with the reason.</summary>
internal sealed class RefusedRecordException(string message) : Exception(message);

/// <summary>A ledger record or command the broker did not acknowledge: the planner stops rather than commit past it.</summary>
internal sealed class PlannerDeliveryException(string message) : Exception(message);
