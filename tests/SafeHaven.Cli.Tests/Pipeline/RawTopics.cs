using Confluent.Kafka;
using SafeHaven.Kafka.Clients;

namespace SafeHaven.Cli.Tests.Pipeline;

/// <summary>One record as the broker holds it: where it is, its bytes and its headers (the seal).</summary>
internal sealed record RawRecord(string Topic, int Partition, long Offset, string? Key, byte[]? Value, Headers? Headers)
{
    public (string, int, long) At => (Topic, Partition, Offset);
}

/// <summary>Reads whole topics as raw records, up to the high watermarks of the moment, with a plain consumer.</summary>
internal static class RawTopics
{
    /// <summary>Every record of <paramref name="topic"/> up to its current end, in partition then offset order.</summary>
    public static List<RawRecord> ReadAll(string bootstrap, string topic, TimeSpan timeout)
    {
        using var kafka = new KafkaClients(new KafkaOptions { BootstrapServers = bootstrap });
        var config = kafka.Consumer("hostile-read-" + Guid.NewGuid().ToString("N"), "hostile-read");
        config.EnableAutoCommit = false;
        config.FetchWaitMaxMs = 5;
        using var consumer = new ConsumerBuilder<string, byte[]>(config).Build();
        using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        var partitions = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions
            .Select(p => new TopicPartition(topic, p.PartitionId)).ToList();
        var ends = partitions.ToDictionary(tp => tp.Partition.Value, tp => consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10)));
        consumer.Assign(partitions.Select(tp => new TopicPartitionOffset(tp, Offset.Beginning)));
        var next = partitions.ToDictionary(tp => tp.Partition.Value, tp => ends[tp.Partition.Value].Low.Value);
        var seen = new List<RawRecord>();
        var deadline = DateTime.UtcNow + timeout;
        while (next.Any(n => n.Value < ends[n.Key].High.Value))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{topic}: read to {string.Join(",", next.Values)} of {string.Join(",", ends.Values.Select(e => e.High))} within {timeout}");
            }
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { Message: not null } cr)
            {
                next[cr.Partition.Value] = cr.Offset.Value + 1;
                seen.Add(new RawRecord(cr.Topic, cr.Partition.Value, cr.Offset.Value, cr.Message.Key, cr.Message.Value, cr.Message.Headers));
            }
        }
        consumer.Close();
        return [.. seen.OrderBy(r => r.Partition).ThenBy(r => r.Offset)];
    }
}
