using Confluent.Kafka;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;

namespace SafeHaven.Cli.Tests.Pipeline;

/// <summary>A hostile record where the broker put it.</summary>
internal sealed record Written(Hostile Record, int Partition, long Offset)
{
    public (string, int, long) At => (Record.Topic, Partition, Offset);
}

/// <summary>
/// A plain producer on the broker (no SafeHaven key, any size up to 8 MiB), and a dead-letter reader. Every partition
/// that got hostile records ends with one more refused record (a "tail"): its dead letter proves that the consumer got
/// past everything before it, the accepted records included.
/// </summary>
internal sealed class HostileWriter(string bootstrap) : IDisposable
{
    private readonly KafkaClients _kafka = new(new KafkaOptions { BootstrapServers = bootstrap });
    private readonly IProducer<string, byte[]> _producer = new ProducerBuilder<string, byte[]>(Config(bootstrap)).Build();
    private IConsumer<string, byte[]>? _dlq;
    private readonly SingleObjectCodec<DeadLetter> _letters = new();

    /// <summary>Dead letters read so far, by the topic, partition and offset they name.</summary>
    public Dictionary<(string, int, long), List<DeadLetter>> DeadLetters { get; } = [];

    private static ProducerConfig Config(string bootstrap)
    {
        var config = new KafkaClients(new KafkaOptions { BootstrapServers = bootstrap }).Producer("hostile");
        config.MessageMaxBytes = 8 * 1024 * 1024;
        config.LingerMs = 5;
        return config;
    }

    /// <summary>Produces <paramref name="records"/> in order, then a tail per partition used; returns where each went.</summary>
    public async Task<List<Written>> WriteAsync(IReadOnlyList<Hostile> records, Random random)
    {
        var sent = records.Select(r => _producer.ProduceAsync(r.Topic, Message(r))).ToList();
        var reports = await Task.WhenAll(sent);
        var written = records.Zip(reports, (r, d) => new Written(r, d.Partition.Value, d.Offset.Value)).ToList();
        var tails = written.GroupBy(w => (w.Record.Topic, w.Partition)).Select(g =>
        {
            var value = new byte[random.Next(1, 65)];
            random.NextBytes(value);
            return (Partition: g.Key.Partition, Record: new Hostile(g.Key.Topic, "random bytes (tail)", g.Last().Record.Key, value, null, Expect.DeadLetter));
        }).ToList();
        foreach (var (partition, record) in tails)
        {
            var d = await _producer.ProduceAsync(new TopicPartition(record.Topic, partition), Message(record));
            written.Add(new Written(record, d.Partition.Value, d.Offset.Value));
        }
        return written;
    }

    private static Message<string, byte[]> Message(Hostile r) => new() { Key = r.Key!, Value = r.Value!, Headers = r.Headers };

    /// <summary>
    /// Reads the dead-letter topic until <paramref name="done"/> holds, or until its end as of now when <paramref name="done"/> is null;
    /// false when <paramref name="timeout"/> passed first.
    /// </summary>
    public bool ReadDeadLetters(Func<bool>? done, TimeSpan timeout)
    {
        var dlq = _kafka.Topics.Dlq;
        if (_dlq is null)
        {
            var config = _kafka.Consumer("hostile-dlq-" + Guid.NewGuid().ToString("N"), "hostile-dlq");
            (config.EnableAutoCommit, config.FetchWaitMaxMs) = (false, 5);
            _dlq = new ConsumerBuilder<string, byte[]>(config).Build();
            using var admin = new DependentAdminClientBuilder(_dlq.Handle).Build();
            _dlq.Assign(admin.GetMetadata(dlq, TimeSpan.FromSeconds(10)).Topics.Single().Partitions
                .Select(p => new TopicPartitionOffset(dlq, p.PartitionId, Offset.Beginning)));
        }
        var ends = done is null ? _dlq.Assignment.ToDictionary(tp => tp.Partition.Value, tp => _dlq.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10)).High.Value) : null;
        var next = _dlq.Assignment.ToDictionary(tp => tp.Partition.Value, tp => Math.Max(0, _dlq.Position(tp).Value));
        var deadline = DateTime.UtcNow + timeout;
        while (done is not null ? !done() : next.Any(n => n.Value < ends![n.Key]))
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            if (_dlq.Consume(TimeSpan.FromMilliseconds(100)) is { Message: not null } cr)
            {
                next[cr.Partition.Value] = cr.Offset.Value + 1;
                var letter = _letters.Decode(cr.Message.Value);
                var at = (letter.topic, letter.partition, letter.offset);
                if (!DeadLetters.TryGetValue(at, out var list))
                {
                    DeadLetters[at] = list = [];
                }
                list.Add(letter);
            }
        }
        return true;
    }

    public void Dispose()
    {
        _producer.Flush(TimeSpan.FromSeconds(5));
        _producer.Dispose();
        _dlq?.Close();
        _dlq?.Dispose();
        _kafka.Dispose();
    }
}
