using Confluent.Kafka;
using SafeHaven.Kafka.Clients;

namespace SafeHaven.Cli.Report;

/// <summary>
/// Reads whole topics, from their start to where each partition ended when the read began, as an observer (no
/// consumer group, every partition assigned): what a report over the history on the topics needs.
/// </summary>
internal static class TopicsToEnd
{
    /// <summary>Calls <paramref name="fold"/> for every record of <paramref name="topics"/> in partition order.</summary>
    /// <returns>True when every partition was read to its end within <paramref name="timeout"/>.</returns>
    /// <exception cref="KafkaException">The cluster cannot be reached or a topic does not exist.</exception>
    public static bool Read(KafkaClients kafka, IReadOnlyList<string> topics, Action<ConsumeResult<string, byte[]>> fold, TimeSpan timeout, CancellationToken ct)
    {
        var config = kafka.Consumer("safehaven-report-" + Guid.NewGuid().ToString("N"), "safehaven-report");
        config.EnablePartitionEof = true;
        using var consumer = new ConsumerBuilder<string, byte[]>(config).Build();
        using var admin = new AdminClientBuilder(kafka.Admin("safehaven-report-admin")).Build();
        var ends = new Dictionary<TopicPartition, long>();
        var starts = new List<TopicPartitionOffset>();
        foreach (var topic in topics)
        {
            var meta = admin.GetMetadata(topic, timeout).Topics.Single();
            if (meta.Error.IsError)
            {
                throw new KafkaException(meta.Error);
            }
            foreach (var p in meta.Partitions)
            {
                var tp = new TopicPartition(topic, p.PartitionId);
                var marks = consumer.QueryWatermarkOffsets(tp, timeout);
                starts.Add(new TopicPartitionOffset(tp, marks.Low));
                if (marks.High.Value > marks.Low.Value)
                {
                    ends[tp] = marks.High.Value;
                }
            }
        }
        consumer.Assign(starts);
        var deadline = DateTime.UtcNow + timeout;
        while (ends.Count > 0 && DateTime.UtcNow < deadline && !ct.IsCancellationRequested)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is not { } cr)
            {
                continue;
            }
            if (!cr.IsPartitionEOF && ends.TryGetValue(cr.TopicPartition, out var end) && cr.Offset.Value < end)
            {
                fold(cr);
            }
            if (cr.IsPartitionEOF || cr.Offset.Value + 1 >= ends.GetValueOrDefault(cr.TopicPartition))
            {
                ends.Remove(cr.TopicPartition);
            }
        }
        consumer.Close();
        return ends.Count == 0;
    }
}
