using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Embedded;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using SafeHaven.Security;
using SafeHaven.StreamProcessors.MovingTarget;
using SafeHaven.StreamProcessors.Planning;

namespace SafeHaven.StreamProcessors.Tests.Planning;

/// <summary>
/// What the planner's embedded-broker tests share: a broker, the deployment's topics under a prefix of their own, the
/// clients, a command-signing key with its verifier, and a producer for the records the tests feed the planner. Every
/// group and topic name it makes is unique, so tests never meet each other's records.
/// </summary>
internal sealed class PlannerOnBroker : IDisposable
{
    private PlannerOnBroker(EmbeddedBroker broker, TopicNames topics, KafkaClients kafka)
    {
        (Broker, Topics, Kafka) = (broker, topics, kafka);
        Signer = CommandSigner.Ephemeral(out var verifier);
        Verifier = verifier;
        Producer = new ProducerBuilder<string, byte[]>(kafka.Producer("test")).Build();
    }

    public EmbeddedBroker Broker { get; }

    public TopicNames Topics { get; }

    public KafkaClients Kafka { get; }

    public CommandSigner Signer { get; }

    public CommandVerifier Verifier { get; }

    public IProducer<string, byte[]> Producer { get; }

    /// <summary>A broker with every topic of a fresh prefix (<paramref name="stem"/> + a GUID), <paramref name="partitions"/> each.</summary>
    public static async Task<PlannerOnBroker> StartAsync(string stem, int partitions)
    {
        var broker = EmbeddedBroker.Start();
        try
        {
            var prefix = stem + Guid.NewGuid().ToString("N") + ".";
            var topics = new TopicNames(prefix);
            await new MockTopicProvisioner(broker).EnsureAsync(topics.All(partitions), CancellationToken.None);
            return new PlannerOnBroker(broker, topics, new KafkaClients(new KafkaOptions
            {
                BootstrapServers = broker.BootstrapServers, TopicPrefix = prefix, Partitions = partitions,
            }));
        }
        catch
        {
            broker.Dispose();
            throw;
        }
    }

    /// <summary>A group id no other test uses.</summary>
    public static string UniqueGroup(string stem) => stem + "-" + Guid.NewGuid().ToString("N");

    /// <summary>A planner instance on the system clock (the broker's records are dated by it).</summary>
    public PlannerService Planner(PlannerOptions options, MovingTargetOptions? movingTarget = null) =>
        new(Kafka, options, Signer, TimeProvider.System, NullLogger<PlannerService>.Instance, movingTarget: movingTarget);

    /// <summary>A consumer of <paramref name="topics"/> from their start, in a group of its own.</summary>
    public IConsumer<string, byte[]> Reader(params string[] topics)
    {
        var reader = new ConsumerBuilder<string, byte[]>(Kafka.Consumer(UniqueGroup("reader"), "reader")).Build();
        reader.Subscribe(topics);
        return reader;
    }

    public Task PublishInventoryAsync(string key, EntityState state) =>
        Producer.ProduceAsync(Topics.Inventory, Message(key, new SingleObjectCodec<EntityState>().Encode(state)));

    /// <summary>The probe's record of process <paramref name="pid"/> on dc1/h1.</summary>
    public Task PublishProcessAsync(int pid) => PublishInventoryAsync($"dc1/h1/pid/{pid}", PlannerRecords.Process(pid));

    public Task PublishDetectionAsync(Schemas.Detection detection) => Producer.ProduceAsync(Topics.Detections,
        Message($"{detection.entity.datacenter}/{detection.entity.host}/pid/{detection.entity.pid}", new SingleObjectCodec<Schemas.Detection>().Encode(detection)));

    public Task PublishResultAsync(IsolationResult result) =>
        Producer.ProduceAsync(Topics.Results, Message(result.commandId, new SingleObjectCodec<IsolationResult>().Encode(result)));

    /// <summary>
    /// Hands every record <paramref name="reader"/> reads to <paramref name="onRecord"/> until <paramref name="done"/>
    /// holds or <paramref name="deadline"/> passes; false on the deadline.
    /// </summary>
    public static async Task<bool> ConsumeUntilAsync(IConsumer<string, byte[]> reader, Func<ConsumeResult<string, byte[]>, Task> onRecord,
        Func<bool> done, TimeSpan deadline)
    {
        var clock = Stopwatch.StartNew();
        while (!done())
        {
            if (clock.Elapsed >= deadline)
            {
                return false;
            }
            if (reader.Consume(TimeSpan.FromMilliseconds(200)) is { Message: not null } r)
            {
                await onRecord(r).ConfigureAwait(false);
            }
        }
        return true;
    }

    public void Dispose()
    {
        Producer.Dispose();
        Signer.Dispose();
        Kafka.Dispose();
        Broker.Dispose();
    }

    private static Message<string, byte[]> Message(string key, byte[] value) => new() { Key = key, Value = value };
}
