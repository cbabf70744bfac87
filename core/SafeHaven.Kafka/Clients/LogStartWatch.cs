using System.Diagnostics.Metrics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace SafeHaven.Kafka.Clients;

/// <summary>
/// Makes records a consumer never saw visible: when its position falls behind a partition's log
/// start (retention, or the embedded broker's 5 MiB per partition), librdkafka silently resets to
/// the log start (auto.offset.reset=earliest). This logs an error naming the lost offsets and
/// counts them in <see cref="RecordsLostName"/>.
/// </summary>
/// <remarks>
/// librdkafka raises no consumer error for such a reset (only <c>_AUTO_OFFSET_RESET</c> under
/// auto.offset.reset=error); its only trace is an "OFFSET" warning in the client log, which needs
/// a handler set when the consumer is built. So the watch reads the records instead: the first
/// record of a partition is compared with the group's committed offset (the restart case), later
/// records with the previous one (the case of a consumer overtaken while running). A gap counts
/// as lost only if the log start lies beyond its first offset, so compaction and transaction
/// markers, which leave gaps too, are not reported. Not thread-safe: one watch per consume loop.
/// Blind spots, both narrow: an auto-commit landing between the first record's return and the
/// committed-offset query hides a restart's loss, and a partition revoked and given back within
/// the one-second assignment check is taken for a continuation.
/// </remarks>
public sealed partial class LogStartWatch(string component, ILogger logger)
{
    /// <summary>The meter of SafeHaven's Kafka client instruments.</summary>
    public const string MeterName = "SafeHaven.Kafka";

    /// <summary>Counter of records a consumer skipped because they were gone from the log, tagged topic, partition, component.</summary>
    public const string RecordsLostName = "safehaven.consumer.records.lost";

    private static readonly TimeSpan QueryTimeout = TimeSpan.FromSeconds(5);
    private static readonly Meter Meter = Telemetry.SafeHavenMetrics.Kafka;
    private static readonly Counter<long> RecordsLost = Meter.CreateCounter<long>(RecordsLostName, unit: "{record}",
        description: "Records a consumer never saw because the partition's log start moved past its position.");

    // Next offset expected per partition; cleared for partitions this consumer no longer owns,
    // since a partition that comes back resumes wherever its last owner committed.
    private readonly Dictionary<TopicPartition, long> _next = [];
    private long _pruneAt;

    /// <summary>Checks <paramref name="record"/> against what <paramref name="consumer"/> read before; call it for every record.</summary>
    public void Observe<TKey, TValue>(IConsumer<TKey, TValue> consumer, ConsumeResult<TKey, TValue> record)
    {
        ArgumentNullException.ThrowIfNull(consumer);
        ArgumentNullException.ThrowIfNull(record);
        Prune(consumer);
        var tp = record.TopicPartition;
        var offset = record.Offset.Value;
        if (_next.TryGetValue(tp, out var next))
        {
            if (offset > next && LogStart(consumer, tp) > next)
            {
                Report(component, tp.Topic, tp.Partition.Value, next, offset - 1, logger);
            }
        }
        else if (LogStart(consumer, tp) is var low and > 0 && Committed(consumer, tp) is { } committed
                 && committed < offset && low > committed)
        {
            // A partition seen for the first time since assignment: the group's committed offset
            // is still where the last owner stopped, since this record's offset is committed later.
            Report(component, tp.Topic, tp.Partition.Value, committed, offset - 1, logger);
        }
        _next[tp] = offset + 1;
    }

    /// <summary>
    /// Logs an error for offsets <paramref name="first"/>..<paramref name="last"/> of a partition that
    /// <paramref name="component"/> never saw, and counts them.
    /// </summary>
    public static void Report(string component, string topic, int partition, long first, long last, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        if (last < first)
        {
            return;
        }
        // Counted before it is logged: whoever reacts to the line finds the loss already in the metric.
        RecordsLost.Add(last - first + 1,
            new KeyValuePair<string, object?>("topic", topic),
            new KeyValuePair<string, object?>("partition", partition),
            new KeyValuePair<string, object?>("component", component));
        LogLost(logger, component, topic, partition, first, last);
    }

    // The low watermark the last fetch response carried (no request); asked of the broker only if none is cached.
    private long LogStart<TKey, TValue>(IConsumer<TKey, TValue> consumer, TopicPartition tp)
    {
        try
        {
            var low = consumer.GetWatermarkOffsets(tp).Low;
            return low.IsSpecial ? consumer.QueryWatermarkOffsets(tp, QueryTimeout).Low.Value : low.Value;
        }
        catch (KafkaException e)
        {
            LogCheckFailed(logger, component, tp.Topic, tp.Partition.Value, e.Error.Reason);
            return -1;
        }
    }

    private long? Committed<TKey, TValue>(IConsumer<TKey, TValue> consumer, TopicPartition tp)
    {
        try
        {
            var committed = consumer.Committed([tp], QueryTimeout).Single().Offset;
            return committed.IsSpecial ? null : committed.Value;
        }
        catch (KafkaException e)
        {
            LogCheckFailed(logger, component, tp.Topic, tp.Partition.Value, e.Error.Reason);
            return null;
        }
    }

    private void Prune<TKey, TValue>(IConsumer<TKey, TValue> consumer)
    {
        // The assignment is a copy from librdkafka: once a second is plenty to notice rebalances.
        var now = Environment.TickCount64;
        if (now < _pruneAt || _next.Count == 0)
        {
            return;
        }
        _pruneAt = now + 1000;
        var owned = consumer.Assignment.ToHashSet();
        foreach (var tp in _next.Keys.Where(tp => !owned.Contains(tp)).ToList())
        {
            _next.Remove(tp);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Component}: lost {Topic}[{Partition}] offsets {First}..{Last} (log start moved past them)")]
    private static partial void LogLost(ILogger logger, string component, string topic, int partition, long first, long last);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Component}: cannot check {Topic}[{Partition}] for lost records: {Reason}")]
    private static partial void LogCheckFailed(ILogger logger, string component, string topic, int partition, string reason);
}
