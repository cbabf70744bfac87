using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using SafeHaven.Core.Placement;
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
/// <see cref="PlannerReadiness"/> on the embedded broker: once it says ready, the planner has read the inventory it found
/// at activation, so a detection of the last process recorded there is placed at once, never parked waiting for its
/// record; and it says not ready once the planner stops.
/// </summary>
public sealed class PlannerReadinessOnEmbeddedBrokerTests
{
    private const int SlowBroker = 2;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Ready_means_the_whole_inventory_was_read_so_a_detection_of_the_last_recorded_process_is_placed_without_waiting()
    {
        // Three brokers: the inventory's partition leads on one that answers after 1 s, everything else on a fast one.
        // A planner that said it was ready before reading the inventory would meet the detection first.
        using var broker = EmbeddedBroker.Start(3);
        var topics = new TopicNames("ready" + Guid.NewGuid().ToString("N") + ".");
        var specs = topics.All(1);
        await new MockTopicProvisioner(broker).EnsureAsync(specs, CancellationToken.None);
        foreach (var spec in specs)
        {
            broker.SetPartitionLeader(spec.Name, 0, spec.Name == topics.Inventory ? SlowBroker : 1);
        }
        using var kafka = new KafkaClients(new KafkaOptions { BootstrapServers = broker.BootstrapServers, TopicPrefix = topics.Prefix, Partitions = 1 });
        using var signer = CommandSigner.Ephemeral(out _);
        var config = kafka.Producer("test");
        // One batch for the whole inventory: each fetch from the slow broker returns one batch and costs its delay.
        config.LingerMs = 200;
        using var producer = new ProducerBuilder<string, byte[]>(config).Build();
        var inventory = new SingleObjectCodec<EntityState>();
        producer.Produce(topics.Inventory, Message("dc1/h1", inventory.Encode(Actuator("h1", "h1-agent", "1-3"))));
        for (var pid = 101; pid <= 400; pid++)
        {
            producer.Produce(topics.Inventory, Message($"dc1/h1/pid/{pid}", inventory.Encode(Process(pid))));
        }
        producer.Flush(TimeSpan.FromSeconds(10));
        broker.SetBrokerRtt(SlowBroker, TimeSpan.FromMilliseconds(1000));
        var readiness = new PlannerReadiness();
        var options = new PlannerOptions { GroupId = "planner-" + Guid.NewGuid().ToString("N"), InstanceId = "pr" };
        using var planner = new PlannerService(kafka, options, signer, TimeProvider.System, NullLogger<PlannerService>.Instance, readiness);
        Assert.False(readiness.Ready);
        await planner.StartAsync(CancellationToken.None);
        Assert.True(await Poll.Until(() => readiness.Ready, Deadline), "the planner never said it was ready");

        producer.Produce(topics.Detections, Message("dc1/h1/pid/400", new SingleObjectCodec<Schemas.Detection>().Encode(DetectionOf(400, "h1:400:r1"))));
        producer.Flush(TimeSpan.FromSeconds(10));
        using var reader = new ConsumerBuilder<string, byte[]>(kafka.Consumer("reader-" + Guid.NewGuid().ToString("N"), "reader")).Build();
        reader.Subscribe([topics.Commands, topics.Placements]);
        var ledger = new List<SlotRecord>();
        IsolationCommand? command = null;
        var until = DateTime.UtcNow + Deadline;
        // The ledger's one partition is read in order: a waiting booking would come before the reservation.
        while ((command is null || !ledger.Any(s => s.@event == LedgerEvents.Reserve)) && DateTime.UtcNow < until)
        {
            if (reader.Consume(TimeSpan.FromMilliseconds(200)) is { Message: not null } r)
            {
                if (r.Topic == topics.Commands)
                {
                    command = new SingleObjectCodec<IsolationCommand>().Decode(r.Message.Value);
                }
                else
                {
                    ledger.Add(new SingleObjectCodec<SlotRecord>().Decode(r.Message.Value));
                }
            }
        }
        await planner.StopAsync(CancellationToken.None);

        Assert.NotNull(command);
        Assert.Equal(400, command.entity.pid);
        // A detection planned before its process's record was read is booked as waiting first (LedgerEvents.Wait).
        Assert.Equal([LedgerEvents.Reserve], ledger.Select(s => s.@event));
        Assert.False(readiness.Ready, "still ready after the planner stopped");
    }

    private static Message<string, byte[]> Message(string key, byte[] value) => new() { Key = key, Value = value };
}
