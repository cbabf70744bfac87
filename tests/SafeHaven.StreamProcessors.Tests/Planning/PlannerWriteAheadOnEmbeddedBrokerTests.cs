using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Embedded;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using SafeHaven.Security;
using SafeHaven.StreamProcessors.Planning;
using static SafeHaven.StreamProcessors.Tests.Planning.PlannerRecords;

namespace SafeHaven.StreamProcessors.Tests.Planning;

/// <summary>
/// The planner's write-ahead rule on a 3-broker embedded cluster whose ledger partition lives on a broker of its own:
/// a command leaves only after the broker acknowledged the ledger record that books it, and a ledger record the broker
/// refuses stops the planner before any command leaves. Commands and every other topic live on broker 1, so a planner
/// that produced the command without waiting would get it out at once, in a request of its own.
/// </summary>
public sealed class PlannerWriteAheadOnEmbeddedBrokerTests
{
    private const int LedgerBroker = 2;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan SlowAck = TimeSpan.FromMilliseconds(400);

    [Fact]
    public async Task The_command_is_produced_only_after_its_ledger_record_is_acknowledged()
    {
        using var broker = EmbeddedBroker.Start(3);
        var topics = new TopicNames("wal" + Guid.NewGuid().ToString("N") + ".");
        using var kafka = await Cluster(broker, topics);
        using var signer = CommandSigner.Ephemeral(out _);
        using var producer = new ProducerBuilder<string, byte[]>(kafka.Producer("test")).Build();
        await Inventory(producer, topics);
        using var planner = Planner(kafka, signer);
        await planner.StartAsync(CancellationToken.None);
        Assert.True(await Poll.Until(() => planner.Active, Deadline), "the planner never took the lease");

        // From now on the ledger's broker appends at once but acknowledges SlowAck later.
        broker.SetBrokerRtt(LedgerBroker, SlowAck);
        var slowFromMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await producer.ProduceAsync(topics.Detections, new Message<string, byte[]> { Key = "dc1/h1/pid/101", Value = Encode(DetectionOf(101, "h1:1:r1")) });
        var command = Next(kafka, topics.Commands, Deadline) ?? throw new TimeoutException($"no command within {Deadline}");
        broker.SetBrokerRtt(LedgerBroker, TimeSpan.Zero);
        await planner.StopAsync(CancellationToken.None);

        // CreateTime is stamped when the planner hands a record to its producer.
        var booked = Ledger(kafka, topics).Where(r => r.Message.Timestamp.UnixTimestampMs >= slowFromMs).ToList();
        Assert.NotEmpty(booked);
        var commandMs = command.Message.Timestamp.UnixTimestampMs;
        var lastBookedMs = booked.Max(r => r.Message.Timestamp.UnixTimestampMs);
        Assert.True(commandMs - lastBookedMs >= SlowAck.TotalMilliseconds * 0.9,
            $"command produced {commandMs - lastBookedMs} ms after its ledger record, before the {SlowAck.TotalMilliseconds} ms acknowledgement");
    }

    [Fact]
    public async Task A_ledger_record_the_broker_refuses_stops_the_planner_before_any_command_leaves()
    {
        using var broker = EmbeddedBroker.Start(3);
        var topics = new TopicNames("wal" + Guid.NewGuid().ToString("N") + ".");
        using var kafka = await Cluster(broker, topics);
        using var signer = CommandSigner.Ephemeral(out _);
        using (var producer = new ProducerBuilder<string, byte[]>(kafka.Producer("test")).Build())
        {
            await Inventory(producer, topics);
            await producer.ProduceAsync(topics.Detections, new Message<string, byte[]> { Key = "dc1/h1/pid/101", Value = Encode(DetectionOf(101, "h1:1:r1")) });
        }
        // The next Produce request, from anyone, is refused for good: the planner's first is the detection's ledger record.
        broker.PushRequestErrors(0, ErrorCode.TopicAuthorizationFailed);
        using var planner = Planner(kafka, signer);
        await planner.StartAsync(CancellationToken.None);

        var stopped = await Task.WhenAny(planner.ExecuteTask!, Task.Delay(Deadline));
        Assert.Same(planner.ExecuteTask, stopped);
        var e = await Assert.ThrowsAnyAsync<Exception>(() => planner.ExecuteTask!);
        Assert.IsType<PlannerDeliveryException>(e);
        Assert.Null(Next(kafka, topics.Commands, TimeSpan.FromSeconds(2)));
        Assert.Empty(Ledger(kafka, topics));
    }

    private static async Task<KafkaClients> Cluster(EmbeddedBroker broker, TopicNames topics)
    {
        var specs = topics.All(1);
        await new MockTopicProvisioner(broker).EnsureAsync(specs, CancellationToken.None);
        foreach (var spec in specs)
        {
            broker.SetPartitionLeader(spec.Name, 0, spec.Name == topics.Placements ? LedgerBroker : 1);
        }
        return new KafkaClients(new KafkaOptions { BootstrapServers = broker.BootstrapServers, TopicPrefix = topics.Prefix, Partitions = 1 });
    }

    private static async Task Inventory(IProducer<string, byte[]> producer, TopicNames topics)
    {
        var codec = new SingleObjectCodec<EntityState>();
        await producer.ProduceAsync(topics.Inventory, new Message<string, byte[]> { Key = "dc1/h1", Value = codec.Encode(Actuator("h1", "h1-agent")) });
        await producer.ProduceAsync(topics.Inventory, new Message<string, byte[]> { Key = "dc1/h1/pid/101", Value = codec.Encode(Process(101)) });
    }

    private static PlannerService Planner(KafkaClients kafka, CommandSigner signer) =>
        new(kafka, new PlannerOptions { GroupId = "planner-" + Guid.NewGuid().ToString("N"), InstanceId = "pw" }, signer, TimeProvider.System,
            NullLogger<PlannerService>.Instance);

    private static ConsumeResult<string, byte[]>? Next(KafkaClients kafka, string topic, TimeSpan within)
    {
        using var reader = new ConsumerBuilder<string, byte[]>(kafka.Consumer("reader-" + Guid.NewGuid().ToString("N"), "reader")).Build();
        reader.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
        var until = DateTime.UtcNow + within;
        while (DateTime.UtcNow < until)
        {
            if (reader.Consume(TimeSpan.FromMilliseconds(200)) is { Message: not null } r)
            {
                return r;
            }
        }
        return null;
    }

    // Every ledger record up to the partition's end.
    private static List<ConsumeResult<string, byte[]>> Ledger(KafkaClients kafka, TopicNames topics)
    {
        using var reader = new ConsumerBuilder<string, byte[]>(kafka.Consumer("reader-" + Guid.NewGuid().ToString("N"), "reader")).Build();
        var tp = new TopicPartition(topics.Placements, 0);
        var end = reader.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10)).High.Value;
        reader.Assign(new TopicPartitionOffset(tp, Offset.Beginning));
        var records = new List<ConsumeResult<string, byte[]>>();
        var until = DateTime.UtcNow + Deadline;
        while (records.Count < end && DateTime.UtcNow < until)
        {
            if (reader.Consume(TimeSpan.FromMilliseconds(200)) is { Message: not null } r)
            {
                records.Add(r);
            }
        }
        Assert.Equal(end, records.Count);
        return records;
    }

    private static byte[] Encode(Schemas.Detection d) => new SingleObjectCodec<Schemas.Detection>().Encode(d);
}
