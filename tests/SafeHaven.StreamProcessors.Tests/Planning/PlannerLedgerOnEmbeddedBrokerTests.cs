using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using SafeHaven.Core;
using SafeHaven.Core.Placement;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Embedded;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using SafeHaven.Security;
using SafeHaven.StreamProcessors.Planning;

namespace SafeHaven.StreamProcessors.Tests.Planning;

/// <summary>
/// Two planner instances on the embedded broker over TCP: one holds the ledger lease and acts; when it stops, the
/// standby rebuilds the ledger from the topic and carries on without double booking or repeating a command.
/// </summary>
public sealed class PlannerLedgerOnEmbeddedBrokerTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_standby_takes_over_from_the_ledger_with_no_double_booking_and_no_repeated_command()
    {
        using var broker = EmbeddedBroker.Start();
        var prefix = "plan" + Guid.NewGuid().ToString("N") + ".";
        var topics = new TopicNames(prefix);
        await new MockTopicProvisioner(broker).EnsureAsync(topics.All(2), CancellationToken.None);
        using var kafka = new KafkaClients(new KafkaOptions { BootstrapServers = broker.BootstrapServers, TopicPrefix = prefix, Partitions = 2 });
        using var signer = CommandSigner.Ephemeral(out var verifier);
        using var producer = new ProducerBuilder<string, byte[]>(kafka.Producer("test")).Build();
        await producer.ProduceAsync(topics.Inventory, Message("dc1/h1", new SingleObjectCodec<EntityState>().Encode(new EntityState
        {
            entityId = "dc1/h1", kind = InventoryView.ActuatorKind, entity = new EntityRef { datacenter = "dc1", host = "h1" },
            isolationPool = "2-3", levels = [Levels.Core], attributes = new Dictionary<string, string> { ["actuatorId"] = "h1-agent" },
            counterStatus = new Dictionary<string, string>(), updatedAtNs = 1,
        })));
        await producer.ProduceAsync(topics.Inventory, Message("dc1/h1/pid/101", Process(101)));
        var group = "planner-" + Guid.NewGuid().ToString("N");
        using var first = Planner(kafka, signer, group, "pa");
        using var second = Planner(kafka, signer, group, "pb");
        await first.StartAsync(CancellationToken.None);
        Assert.True(await Eventually.True(() => first.Active, Deadline), "the first planner never took the lease");
        await second.StartAsync(CancellationToken.None);

        using var commands = new ConsumerBuilder<string, byte[]>(kafka.Consumer("reader-" + Guid.NewGuid().ToString("N"), "reader")).Build();
        commands.Subscribe(topics.Commands);
        var d1 = Detection(101, "h1:1:r1");
        await producer.ProduceAsync(topics.Detections, Message("dc1/h1/pid/101", Encode(d1)));
        var c1 = NextCommand(commands);
        Assert.Equal("2", c1.target);
        Assert.True(first.Active);
        Assert.False(second.Active, "two planners active at once");
        Assert.Null(verifier.Problem(c1));

        var stopped = Stopwatch.StartNew();
        await first.StopAsync(CancellationToken.None);
        Assert.True(await Eventually.True(() => second.Active, TimeSpan.FromSeconds(15)), "the standby did not take over within 15 s");
        var takeoverMs = stopped.Elapsed.TotalMilliseconds;

        // The same detection again (a redelivery), then a new suspect whose inventory record comes after its
        // detection: it waits for the record (its group decides its slot), then one command, to the other CPU.
        await producer.ProduceAsync(topics.Detections, Message("dc1/h1/pid/101", Encode(d1)));
        await producer.ProduceAsync(topics.Detections, Message("dc1/h1/pid/102", Encode(Detection(102, "h1:2:r1"))));
        Assert.Null(commands.Consume(TimeSpan.FromSeconds(1))?.Message);
        await producer.ProduceAsync(topics.Inventory, Message("dc1/h1/pid/102", Process(102)));
        var c2 = NextCommand(commands);
        Assert.Equal((102, "3"), (c2.entity.pid, c2.target));
        Assert.Null(commands.Consume(TimeSpan.FromSeconds(2))?.Message);
        Assert.True(takeoverMs < 15_000, $"takeover took {takeoverMs:F0} ms");
    }

    private static PlannerService Planner(KafkaClients kafka, CommandSigner signer, string group, string instance) =>
        new(kafka, new PlannerOptions { GroupId = group, InstanceId = instance }, signer, TimeProvider.System, NullLogger<PlannerService>.Instance);

    private static IsolationCommand NextCommand(IConsumer<string, byte[]> consumer)
    {
        var until = DateTime.UtcNow + Deadline;
        while (DateTime.UtcNow < until)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { Message: not null } r)
            {
                return new SingleObjectCodec<IsolationCommand>().Decode(r.Message.Value);
            }
        }
        throw new TimeoutException($"no command within {Deadline}");
    }

    private static Schemas.Detection Detection(int pid, string id) => new()
    {
        detectionId = id, entity = new EntityRef { datacenter = "dc1", host = "h1", pid = pid }, rule = "r1", counter = "context-switches",
        // Dated now: the planner dead-letters detections outside its time window (RecordBounds).
        rate = 5000, threshold = 1000, scope = Scopes.Core, detectedAtNs = NowNs(), firstSampleAtNs = NowNs() - 1_000_000_000, kind = DetectionKinds.Detected,
    };

    private static long NowNs() => (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;

    private static byte[] Process(int pid) => new SingleObjectCodec<EntityState>().Encode(new EntityState
    {
        entityId = $"dc1/h1/pid/{pid}", kind = "process", entity = new EntityRef { datacenter = "dc1", host = "h1", pid = pid },
        levels = [Levels.Core], attributes = new Dictionary<string, string> { ["group"] = $"pgid:{pid}" },
        counterStatus = new Dictionary<string, string>(), updatedAtNs = 1,
    });

    private static byte[] Encode(Schemas.Detection d) => new SingleObjectCodec<Schemas.Detection>().Encode(d);

    private static Message<string, byte[]> Message(string key, byte[] value) => new() { Key = key, Value = value };
}
