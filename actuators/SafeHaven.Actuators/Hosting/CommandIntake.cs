using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;

namespace SafeHaven.Actuators.Hosting;

/// <summary>
/// The Kafka side every agent shares: announce the capabilities in the inventory, warm up, then
/// execute the commands keyed by the agent's id and answer each with exactly one result.
/// </summary>
internal static class CommandIntake
{
    /// <summary>Runs until <paramref name="ct"/> is cancelled.</summary>
    /// <param name="kafka">Clients of the deployment.</param>
    /// <param name="id">Agent id: commands keyed by it are executed, others ignored.</param>
    /// <param name="role">Role prefix of group, client and component names (actuator, hypervisor).</param>
    /// <param name="capabilities">The inventory record announcing what the agent can do.</param>
    /// <param name="execute">Runs one command; never throws for anything the command holds.</param>
    /// <param name="reconcile">The results of moves a crash cut short, published before new commands run.</param>
    /// <param name="published">Told once a result is on the broker, so its command is not reconciled again.</param>
    /// <param name="time">Clock of dead letters.</param>
    /// <param name="logger">Where dead letters are logged.</param>
    /// <param name="ct">Stops the loop.</param>
    public static void Run(KafkaClients kafka, string id, string role, EntityState capabilities,
        Func<IsolationCommand, IsolationResult> execute, Func<IReadOnlyList<IsolationResult>> reconcile,
        Action<IsolationResult> published, TimeProvider time, ILogger logger, CancellationToken ct)
    {
        var topics = kafka.Topics;
        using var consumer = new ConsumerBuilder<string, byte[]>(kafka.Consumer($"safehaven-{role}-{id}", $"{role}-{id}")).Build();
        using var producer = new ProducerBuilder<string, byte[]>(kafka.Producer($"{role}-{id}")).Build();
        var results = kafka.Serdes.Serializer<IsolationResult>();
        var commands = kafka.Serdes.Deserializer<IsolationCommand>();
        ConsumeLoop.Produce(producer, kafka.Serdes.Serializer<EntityState>(), topics.Inventory, capabilities.entityId, capabilities);
        producer.Flush(TimeSpan.FromSeconds(10));
        WarmUp.Codecs(kafka.Serdes);
        WarmUp.Metadata(producer, [topics.Results, topics.Dlq], TimeSpan.FromSeconds(10));
        foreach (var reconciled in reconcile())
        {
            Publish(reconciled);
        }
        consumer.Subscribe(topics.Commands);
        ConsumeLoop.Run(consumer, producer, kafka, $"{role}:{id}", time, logger, cr =>
        {
            // Commands are keyed by agent id; other agents' commands are not ours to answer.
            if (cr.Message.Key != id)
            {
                return;
            }
            Publish(execute(KafkaSerdes.Decode(commands, cr.Message.Value, cr.Topic)));
        }, ct);

        // At least once: a crash between the flush and the journal's "done" line publishes the
        // result again after the restart (consumers key results by command id).
        void Publish(IsolationResult result)
        {
            ConsumeLoop.Produce(producer, results, topics.Results, result.commandId, result);
            producer.Flush(TimeSpan.FromSeconds(5));
            published(result);
        }
    }
}
