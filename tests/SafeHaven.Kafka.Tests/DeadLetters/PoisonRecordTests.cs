using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.DeadLetters;
using SafeHaven.Kafka.Embedded;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Tests.Embedded;
using SafeHaven.Kafka.Tests.Serialization;
using SafeHaven.Schemas;
using Xunit.Abstractions;

namespace SafeHaven.Kafka.Tests.DeadLetters;

/// <summary>
/// The consume loop every agent runs survives any bytes the broker accepts: random bytes, truncated Avro, ~1 MB and
/// 2 MiB records (the embedded broker keeps 5 MiB per partition) and wrong schema fingerprints each become one bounded dead letter, and a valid record after them is
/// still handled (issue 10: dead-lettering a ~1 MB record threw inside the error path and stopped the role).
/// </summary>
public sealed class PoisonRecordTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Every_poison_record_is_dead_lettered_once_bounded_and_the_loop_goes_on_to_the_canary()
    {
        using var broker = EmbeddedBroker.Start();
        var kafka = new KafkaClients(new KafkaOptions { BootstrapServers = broker.BootstrapServers, TopicPrefix = TestKafka.Unique("poison") + "." });
        var (input, dlq) = (kafka.Topics.Commands, kafka.Topics.Dlq);
        broker.CreateTopic(input, 1);
        broker.CreateTopic(dlq, 1);
        var poison = Poison(kafka, input);
        var canary = SampleRecords.FullCommand();
        canary.commandId = "canary";

        var config = TestKafka.Producer(broker.BootstrapServers);
        config.MessageMaxBytes = 8 * 1024 * 1024;
        using (var hostile = new ProducerBuilder<byte[], byte[]>(config).Build())
        {
            foreach (var value in poison)
            {
                await hostile.ProduceAsync(input, new Message<byte[], byte[]> { Key = "agent"u8.ToArray(), Value = value });
            }
            var good = kafka.Serdes.Serializer<IsolationCommand>().Serialize(canary, new SerializationContext(MessageComponentType.Value, input));
            await hostile.ProduceAsync(input, new Message<byte[], byte[]> { Key = "agent"u8.ToArray(), Value = good });
        }

        var handled = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var deserializer = kafka.Serdes.Deserializer<IsolationCommand>();
        var failedBefore = DeadLetterMetrics.Failed;
        using var stop = new CancellationTokenSource();
        using var consumer = new ConsumerBuilder<string, byte[]>(kafka.Consumer(TestKafka.Unique("g"), "poison-test")).Build();
        using var producer = new ProducerBuilder<string, byte[]>(kafka.Producer("poison-test")).Build();
        consumer.Subscribe(input);
        var loop = ConsumeLoop.OnOwnThread(() => ConsumeLoop.Run(consumer, producer, kafka, "poison-test", TimeProvider.System,
            NullLogger.Instance, cr => handled.TrySetResult(KafkaSerdes.Decode(deserializer, cr.Message.Value, cr.Topic).commandId), stop.Token), stop.Token);

        Assert.Equal("canary", await handled.Task.WaitAsync(TestKafka.Deadline));
        var letters = ReadDeadLetters(kafka, broker.BootstrapServers, dlq, poison.Count);
        Assert.False(loop.IsCompleted, "the loop ended");
        await stop.CancelAsync();
        await loop.WaitAsync(TestKafka.Deadline);

        output.WriteLine($"tried {poison.Count}, dead-lettered {letters.Count}, largest dead letter {letters.Max(l => l.Bytes)} bytes");
        Assert.Equal(poison.Count, letters.Count);
        Assert.All(letters, l => Assert.True(l.Bytes <= SafeHaven.Kafka.DeadLetters.DeadLetters.MaxValueBytes + 8 * 1024, $"dead letter of {l.Bytes} bytes"));
        Assert.Equal(Enumerable.Range(0, poison.Count).Select(i => (long)i), letters.Select(l => l.Letter.offset).Order());
        Assert.Contains(letters, l => l.Letter.reason.Contains("value truncated from 1048576", StringComparison.Ordinal));
        Assert.Equal(failedBefore, DeadLetterMetrics.Failed);
    }

    /// <summary>Random bytes (0–4 KiB), truncated valid records, ~1 MB and 2 MiB records, and a valid body under a wrong fingerprint.</summary>
    private static List<byte[]> Poison(KafkaClients kafka, string topic)
    {
        var random = new Random(10);
        var valid = kafka.Serdes.Serializer<IsolationCommand>().Serialize(SampleRecords.FullCommand(), new SerializationContext(MessageComponentType.Value, topic));
        var list = new List<byte[]>();
        for (var i = 0; i < 20; i++)
        {
            var b = new byte[random.Next(0, 4096)];
            random.NextBytes(b);
            list.Add(b);
            list.Add(valid[..random.Next(1, valid.Length - 1)]);
            var wrong = (byte[])valid.Clone();
            wrong[2 + random.Next(8)] ^= 0x5a;
            list.Add(wrong);
        }
        foreach (var size in new[] { 1024 * 1024, 1_000_000, 2 * 1024 * 1024 })
        {
            var big = new byte[size];
            random.NextBytes(big);
            list.Add(big);
        }
        return list;
    }

    private static List<(DeadLetter Letter, int Bytes)> ReadDeadLetters(KafkaClients kafka, string bootstrap, string dlq, int expected)
    {
        var deserializer = kafka.Serdes.Deserializer<DeadLetter>();
        using var reader = new ConsumerBuilder<string, byte[]>(TestKafka.Consumer(bootstrap, TestKafka.Unique("dlq"))).Build();
        reader.Subscribe(dlq);
        var letters = new List<(DeadLetter, int)>();
        var deadline = DateTime.UtcNow + TestKafka.Deadline;
        // Read a little past the expected count: a duplicate dead letter must show up as a failure, not hide.
        var quietUntil = DateTime.MaxValue;
        while (DateTime.UtcNow < deadline && DateTime.UtcNow < quietUntil)
        {
            if (reader.Consume(TimeSpan.FromMilliseconds(100)) is { Message: not null } cr)
            {
                letters.Add((KafkaSerdes.Decode(deserializer, cr.Message.Value, cr.Topic), cr.Message.Value.Length));
                if (letters.Count == expected)
                {
                    quietUntil = DateTime.UtcNow + TimeSpan.FromSeconds(1);
                }
            }
        }
        reader.Close();
        return letters;
    }
}
