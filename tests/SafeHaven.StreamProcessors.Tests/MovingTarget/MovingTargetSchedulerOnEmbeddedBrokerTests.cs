using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SafeHaven.Core;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Embedded;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using SafeHaven.Security;
using SafeHaven.StreamProcessors.MovingTarget;
using SafeHaven.StreamProcessors.Planning;

namespace SafeHaven.StreamProcessors.Tests.MovingTarget;

/// <summary>The scheduler as a hosted service on the embedded broker, its period on a fake clock.</summary>
public sealed class MovingTargetSchedulerOnEmbeddedBrokerTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Issues_signed_alternating_commands_each_period_and_records_move_times()
    {
        using var broker = EmbeddedBroker.Start();
        var prefix = "mtd" + Guid.NewGuid().ToString("N") + ".";
        var topics = new TopicNames(prefix);
        await new MockTopicProvisioner(broker).EnsureAsync(topics.All(1), CancellationToken.None);
        using var kafka = new KafkaClients(new KafkaOptions { BootstrapServers = broker.BootstrapServers, TopicPrefix = prefix, Partitions = 1 });
        using var signer = CommandSigner.Ephemeral(out var verifier);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var metrics = new MovingTargetMetrics();
        var options = MovingTargetRoundsTests.Options(42);
        using var producer = new ProducerBuilder<string, byte[]>(kafka.Producer("test")).Build();
        await producer.ProduceAsync(topics.Inventory, Message("dc1/h1", new SingleObjectCodec<EntityState>().Encode(new EntityState
        {
            entityId = "dc1/h1", kind = InventoryKinds.Actuator, entity = new EntityRef { datacenter = "dc1", host = "h1" },
            isolationPool = "2-3", levels = [Levels.Core], attributes = new Dictionary<string, string> { ["actuatorId"] = "h1-agent" },
            counterStatus = new Dictionary<string, string>(), updatedAtNs = 1,
        })));

        using var scheduler = new MovingTargetScheduler(kafka, options, signer, metrics, clock, NullLogger<MovingTargetScheduler>.Instance);
        await scheduler.StartAsync(CancellationToken.None);
        using var consumer = new ConsumerBuilder<string, byte[]>(kafka.Consumer("reader-" + Guid.NewGuid().ToString("N"), "reader")).Build();
        consumer.Subscribe(topics.Commands);
        var codec = new SingleObjectCodec<IsolationCommand>();
        var commands = new List<(string Key, IsolationCommand Value)>();
        var until = DateTime.UtcNow + Deadline;
        // Until the scheduler has read the inventory, periods pass with nothing to move; that is fine.
        while (commands.Count < 4 && DateTime.UtcNow < until)
        {
            clock.Advance(options.Period);
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { Message: not null } r)
            {
                commands.Add((r.Message.Key, codec.Decode(r.Message.Value)));
            }
        }

        Assert.True(commands.Count >= 4, $"{commands.Count} commands after {Deadline}: {metrics.Rounds} rounds, {metrics.Unplaced} unplaced");
        Assert.Equal(["2", "3", "2", "3"], commands.Take(4).Select(c => c.Value.target));
        Assert.All(commands, c =>
        {
            Assert.Null(verifier.Problem(c.Value));
            Assert.Equal("h1-agent", c.Key);
            Assert.Equal("h1-agent", c.Value.source);
            Assert.Null(c.Value.detectionId);
            Assert.Equal(42, c.Value.entity.pid);
            Assert.Equal(["moving-target: periodic migration every 30s"], c.Value.reasons);
        });
        Assert.Equal(commands.Select(c => c.Value.commandId).Distinct().Count(), commands.Count);

        // Read back: two moves of 25 and 35 ms, one refusal, and a result of someone else's command.
        var results = new SingleObjectCodec<IsolationResult>();
        await producer.ProduceAsync(topics.Results, Message(commands[0].Value.commandId, results.Encode(Result(commands[0].Value, ResultStatus.Succeeded, 25))));
        await producer.ProduceAsync(topics.Results, Message("c-planner-1", results.Encode(Result(commands[0].Value, ResultStatus.Succeeded, 999))));
        await producer.ProduceAsync(topics.Results, Message(commands[1].Value.commandId, results.Encode(Result(commands[1].Value, ResultStatus.Succeeded, 35))));
        await producer.ProduceAsync(topics.Results, Message(commands[2].Value.commandId, results.Encode(Result(commands[2].Value, ResultStatus.Rejected, 1))));
        Assert.True(await Eventually.True(() => metrics.Results == 3, Deadline), $"{metrics.Results} results recorded");
        Assert.Equal(2, metrics.Succeeded);
        Assert.Equal(1, metrics.NotSucceeded);
        Assert.Equal(30, metrics.MeanMoveMs, 6);
        Assert.Equal(TimeSpan.FromMilliseconds(60), metrics.TotalMoveTime);
        Assert.True(metrics.Migrations >= 4);

        await scheduler.StopAsync(CancellationToken.None);
        consumer.Close();
    }

    private static Message<string, byte[]> Message(string key, byte[] value) => new() { Key = key, Value = value };

    private static IsolationResult Result(IsolationCommand cmd, string status, int ms) => new()
    {
        commandId = cmd.commandId, entity = cmd.entity, level = cmd.level, status = status, actuator = cmd.source,
        startedAtNs = 1_000_000_000, finishedAtNs = 1_000_000_000 + ms * 1_000_000L, phases = new Dictionary<string, long>(),
        error = status == ResultStatus.Succeeded ? null : "target cpus 2 are held by pid 7",
    };
}
