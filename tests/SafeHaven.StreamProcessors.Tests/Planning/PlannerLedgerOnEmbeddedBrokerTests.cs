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
using static SafeHaven.StreamProcessors.Tests.Planning.PlannerRecords;

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
        await producer.ProduceAsync(topics.Inventory, Message("dc1/h1", new SingleObjectCodec<EntityState>().Encode(Actuator("h1", "h1-agent", "2-3"))));
        await producer.ProduceAsync(topics.Inventory, Message("dc1/h1/pid/101", Process(101)));
        var group = "planner-" + Guid.NewGuid().ToString("N");
        using var first = Planner(kafka, signer, group, "pa");
        using var second = Planner(kafka, signer, group, "pb");
        await first.StartAsync(CancellationToken.None);
        Assert.True(await Eventually.True(() => first.Active, Deadline), "the first planner never took the lease");
        await second.StartAsync(CancellationToken.None);

        using var commands = new ConsumerBuilder<string, byte[]>(kafka.Consumer("reader-" + Guid.NewGuid().ToString("N"), "reader")).Build();
        commands.Subscribe(topics.Commands);
        var d1 = DetectionOf(101, "h1:1:r1");
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
        await producer.ProduceAsync(topics.Detections, Message("dc1/h1/pid/102", Encode(DetectionOf(102, "h1:2:r1"))));
        Assert.Null(commands.Consume(TimeSpan.FromSeconds(1))?.Message);
        await producer.ProduceAsync(topics.Inventory, Message("dc1/h1/pid/102", Process(102)));
        var c2 = NextCommand(commands);
        Assert.Equal((102, "3"), (c2.entity.pid, c2.target));
        Assert.Null(commands.Consume(TimeSpan.FromSeconds(2))?.Message);
        Assert.True(takeoverMs < 15_000, $"takeover took {takeoverMs:F0} ms");
    }

    [Fact]
    public async Task A_stale_detection_is_dead_lettered_and_a_flood_gets_the_host_budget_of_commands_and_skipped_results()
    {
        using var broker = EmbeddedBroker.Start();
        var prefix = "pol" + Guid.NewGuid().ToString("N") + ".";
        var topics = new TopicNames(prefix);
        await new MockTopicProvisioner(broker).EnsureAsync(topics.All(1), CancellationToken.None);
        using var kafka = new KafkaClients(new KafkaOptions { BootstrapServers = broker.BootstrapServers, TopicPrefix = prefix, Partitions = 1 });
        using var signer = CommandSigner.Ephemeral(out _);
        using var producer = new ProducerBuilder<string, byte[]>(kafka.Producer("test")).Build();
        await producer.ProduceAsync(topics.Inventory, Message("dc1/h1", new SingleObjectCodec<EntityState>().Encode(Actuator("h1", "h1-agent", "0-63"))));
        for (var pid = 101; pid <= 106; pid++)
        {
            await producer.ProduceAsync(topics.Inventory, Message($"dc1/h1/pid/{pid}", Process(pid)));
        }
        var options = new PlannerOptions { GroupId = "planner-" + Guid.NewGuid().ToString("N"), InstanceId = "pp", MovesPerHostPerMinute = 2 };
        using var planner = new PlannerService(kafka, options, signer, TimeProvider.System, NullLogger<PlannerService>.Instance);
        await planner.StartAsync(CancellationToken.None);
        Assert.True(await Eventually.True(() => planner.Active, Deadline), "the planner never took the lease");

        var stale = DetectionOf(106, "h1:0:r1");
        stale.detectedAtNs = NowNs() - 600_000_000_000;
        await producer.ProduceAsync(topics.Detections, Message("dc1/h1/pid/106", Encode(stale)));
        for (var pid = 101; pid <= 105; pid++)
        {
            await producer.ProduceAsync(topics.Detections, Message($"dc1/h1/pid/{pid}", Encode(DetectionOf(pid, $"h1:{pid}:r1"))));
        }

        using var reader = new ConsumerBuilder<string, byte[]>(kafka.Consumer("reader-" + Guid.NewGuid().ToString("N"), "reader")).Build();
        reader.Subscribe([topics.Commands, topics.Results, topics.Dlq]);
        var (commands, skipped, dead) = (new List<IsolationCommand>(), new List<IsolationResult>(), new List<DeadLetter>());
        var until = DateTime.UtcNow + Deadline;
        while ((commands.Count < 2 || skipped.Count < 3 || dead.Count < 1) && DateTime.UtcNow < until)
        {
            if (reader.Consume(TimeSpan.FromMilliseconds(200)) is { Message: not null } r)
            {
                if (r.Topic == topics.Commands)
                {
                    commands.Add(new SingleObjectCodec<IsolationCommand>().Decode(r.Message.Value));
                }
                else if (r.Topic == topics.Results)
                {
                    skipped.Add(new SingleObjectCodec<IsolationResult>().Decode(r.Message.Value));
                }
                else
                {
                    dead.Add(new SingleObjectCodec<DeadLetter>().Decode(r.Message.Value));
                }
            }
        }
        await planner.StopAsync(CancellationToken.None);

        Assert.True(dead.Count == 1 && skipped.Count == 3, $"dead letters: {dead.Count} ({string.Join("; ", dead.Select(d => d.reason))}), skipped: {skipped.Count}");
        Assert.Equal([101, 102], commands.Select(c => c.entity.pid!.Value).Order());
        Assert.Equal([103, 104, 105], skipped.Select(r => r.entity.pid!.Value).Order());
        Assert.All(skipped, r => Assert.Equal((ResultStatus.Skipped, "budget of 2 moves per host per minute spent on dc1/h1"), (r.status, r.error)));
        var letter = Assert.Single(dead);
        Assert.Equal(topics.Detections, letter.topic);
        Assert.Contains("stale detection h1:0:r1: detected 600.", letter.reason, StringComparison.Ordinal);
        Assert.Null(reader.Consume(TimeSpan.FromSeconds(1))?.Message);
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

    private static byte[] Process(int pid) => new SingleObjectCodec<EntityState>().Encode(PlannerRecords.Process(pid));

    private static byte[] Encode(Schemas.Detection d) => new SingleObjectCodec<Schemas.Detection>().Encode(d);

    private static Message<string, byte[]> Message(string key, byte[] value) => new() { Key = key, Value = value };
}
