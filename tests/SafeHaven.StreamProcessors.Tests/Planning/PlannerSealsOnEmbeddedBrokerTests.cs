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
/// A planner that trusts probe, actuator and planner keys, on the embedded broker: sealed records work; an unsealed
/// actuator, a probe speaking for another host and a result sealed by another actuator are dead-lettered and change nothing.
/// </summary>
public sealed class PlannerSealsOnEmbeddedBrokerTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly Lines _log = new();

    private sealed class Lines : Microsoft.Extensions.Logging.ILogger<PlannerService>
    {
        public System.Collections.Concurrent.ConcurrentQueue<string> All { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            All.Enqueue(formatter(state, exception));
    }

    [Fact]
    public async Task Forged_inventory_and_results_are_dead_lettered_and_genuine_ones_work()
    {
        using var broker = EmbeddedBroker.Start();
        var prefix = "seal" + Guid.NewGuid().ToString("N") + ".";
        var topics = new TopicNames(prefix);
        await new MockTopicProvisioner(broker).EnsureAsync(topics.All(1), CancellationToken.None);
        using var probe = RecordSigner.Ephemeral(KeyRoles.Probe, "dc1/h1");
        using var otherProbe = RecordSigner.Ephemeral(KeyRoles.Probe, "dc1/h2");
        using var agent = RecordSigner.Ephemeral(KeyRoles.Actuator, "h1-agent");
        using var otherAgent = RecordSigner.Ephemeral(KeyRoles.Actuator, "h2-agent");
        using var planner = RecordSigner.Ephemeral(KeyRoles.Planner, KeyRoles.Planner);
        var seals = new RoleSeals { Planner = planner, Verifier = RecordVerifier.Trusting(probe, otherProbe, agent, otherAgent, planner) };
        using var kafka = new KafkaClients(new KafkaOptions { BootstrapServers = broker.BootstrapServers, TopicPrefix = prefix, Partitions = 1 }) { Seals = seals };
        using var signer = CommandSigner.Ephemeral(out _);
        using var producer = new ProducerBuilder<string, byte[]>(kafka.Producer("test")).Build();
        var states = new SingleObjectCodec<EntityState>();

        await Produce(producer, topics.Inventory, "dc1/h1/actuator/h1-agent", states.Encode(Actuator("h1", "h1-agent")), agent, Seals.Kinds.Inventory);
        await Produce(producer, topics.Inventory, "dc1/h2/actuator/ghost", states.Encode(Actuator("h2", "ghost")), null, null); // forged: unsealed
        await Produce(producer, topics.Inventory, "dc1/h1/pid/101", states.Encode(Process(101)), probe, Seals.Kinds.Inventory);
        await Produce(producer, topics.Inventory, "dc1/h1/pid/102", states.Encode(Process(102)), otherProbe, Seals.Kinds.Inventory); // another host's probe

        using var service = new PlannerService(kafka, new PlannerOptions { GroupId = "planner-" + Guid.NewGuid().ToString("N"), InstanceId = "ps" },
            signer, TimeProvider.System, _log);
        await service.StartAsync(CancellationToken.None);
        var reader = new ConsumerBuilder<string, byte[]>(kafka.Consumer("reader-" + Guid.NewGuid().ToString("N"), "reader")).Build();
        try
        {
            // From the start: the inventory's dead letters may come before the reader joins.
            reader.Assign(new[] { topics.Commands, topics.Dlq, topics.Placements }.Select(t => new TopicPartitionOffset(t, 0, Offset.Beginning)));
            var detections = new SingleObjectCodec<Schemas.Detection>();
            await Produce(producer, topics.Detections, "dc1/h1/pid/101", detections.Encode(DetectionOf(101, "h1:1:r1")), null, null);
            var seen = new List<ConsumeResult<string, byte[]>>();
            var command = new SingleObjectCodec<IsolationCommand>().Decode(Until(reader, seen, r => r.Topic == topics.Commands).Message.Value);
            Assert.Equal(("h1-agent", "2"), (command.source, command.target));

            var results = new SingleObjectCodec<IsolationResult>();
            var forged = Result(command, ResultStatus.Failed);
            await Produce(producer, topics.Results, command.commandId, results.Encode(forged), otherAgent, Seals.Kinds.Results);
            await Produce(producer, topics.Results, command.commandId, results.Encode(Result(command, ResultStatus.Succeeded)), agent, Seals.Kinds.Results);
            // Read placements and dead letters together: the hold of the genuine success, and the three forgeries.
            var (dead, holds) = (new List<DeadLetter>(), new List<SlotRecord>());
            var (letters, slots) = (new SingleObjectCodec<DeadLetter>(), new SingleObjectCodec<SlotRecord>());
            try
            {
                Until(reader, seen, _ => seen.Count(r => r.Topic == topics.Dlq) >= 3
                    && seen.Any(r => r.Topic == topics.Placements && slots.Decode(r.Message.Value).@event == LedgerEvents.Hold));
            }
            catch (TimeoutException)
            {
                // Asserted below, with what did come.
            }
            dead.AddRange(seen.Where(r => r.Topic == topics.Dlq).Select(r => letters.Decode(r.Message.Value)));
            holds.AddRange(seen.Where(r => r.Topic == topics.Placements).Select(r => slots.Decode(r.Message.Value)).Where(r => r.@event == LedgerEvents.Hold));
            // The forged failure changed nothing: the genuine success holds the slot.
            var held = Assert.Single(holds);
            Assert.Equal(("dc1/h1/pid/101", MemberStatus.Held), (held.members[0].entityId, held.members[0].status));
            Assert.Contains("(succeeded)", held.reason, StringComparison.Ordinal);
            var reasons = string.Join("\n", dead.Select(d => d.reason));
            Assert.True(dead.Count == 3, reasons + "\n--- planner log:\n" + string.Join("\n", _log.All));
            Assert.Contains("unsigned inventory record", reasons, StringComparison.Ordinal);
            Assert.Contains("inventory record 'dc1/h1/pid/102' of host 'dc1/h1' sealed by probe key", reasons, StringComparison.Ordinal);
            Assert.Contains($"result for command {command.commandId} sealed by actuator 'h2-agent', not by its own actuator 'h1-agent'", reasons, StringComparison.Ordinal);
        }
        finally
        {
            reader.Close();
            reader.Dispose();
            await service.StopAsync(CancellationToken.None);
        }
    }

    private static async Task Produce(IProducer<string, byte[]> producer, string topic, string key, byte[] value, RecordSigner? signer, string? kind)
    {
        var message = new Message<string, byte[]> { Key = key, Value = value };
        if (signer is not null)
        {
            message.Headers = Seals.Headers(signer, kind!, key, value);
        }
        await producer.ProduceAsync(topic, message);
    }

    // Reads every record into seen until done holds; records are kept, so no later check misses one read here.
    private static ConsumeResult<string, byte[]> Until(IConsumer<string, byte[]> reader, List<ConsumeResult<string, byte[]>> seen,
        Func<ConsumeResult<string, byte[]>, bool> done)
    {
        var until = DateTime.UtcNow + Deadline;
        while (DateTime.UtcNow < until)
        {
            if (reader.Consume(TimeSpan.FromMilliseconds(200)) is { Message.Value: not null } r)
            {
                seen.Add(r);
                if (done(r))
                {
                    return r;
                }
            }
        }
        throw new TimeoutException($"not seen within {Deadline}");
    }

    private static IsolationResult Result(IsolationCommand c, string status) => new()
    {
        commandId = c.commandId, entity = c.entity, level = c.level, status = status, actuator = c.source,
        startedAtNs = NowNs(), finishedAtNs = NowNs(),
        phases = new Dictionary<string, long>(StringComparer.Ordinal),
    };
}
