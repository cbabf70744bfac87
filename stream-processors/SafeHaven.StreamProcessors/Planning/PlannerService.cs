using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Core.Placement;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;
using SafeHaven.Security;

namespace SafeHaven.StreamProcessors.Planning;

/// <summary>
/// Runs the <see cref="Planner"/> against Kafka: inventory, detections and results in, commands
/// out. One consumer reads all three topics so that the planner's ledger is touched by one
/// thread only, in the order records arrive.
/// </summary>
internal sealed partial class PlannerService(KafkaClients kafka, PlannerOptions options, CommandSigner signer, TimeProvider time, ILogger<PlannerService> logger)
    : BackgroundService
{
    private readonly PlacementBook _book = new();

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        ConsumeLoop.OnOwnThread(() => Run(stoppingToken), stoppingToken);

    private void Run(CancellationToken ct)
    {
        var topics = kafka.Topics;
        var planner = new Planner(_book, time, new PlannerSettings(options.CommandTtl, options.DryRun));
        // The inventory is state, not a queue: read it from the start on every assignment, so a
        // restarted planner knows every actuator again; detections and results resume where they were.
        using var consumer = new ConsumerBuilder<string, byte[]>(kafka.Consumer(options.GroupId, "planner"))
            .SetPartitionsAssignedHandler((_, assigned) => assigned.Select(tp =>
                new TopicPartitionOffset(tp, tp.Topic == topics.Inventory ? Offset.Beginning : Offset.Unset)))
            .Build();
        using var producer = new ProducerBuilder<string, byte[]>(kafka.Producer("planner")).Build();
        var commands = kafka.Serdes.Serializer<IsolationCommand>();
        var inventory = kafka.Serdes.Deserializer<EntityState>();
        var detections = kafka.Serdes.Deserializer<SafeHaven.Schemas.Detection>();
        var results = kafka.Serdes.Deserializer<IsolationResult>();
        WarmUp.Codecs(kafka.Serdes);
        WarmUp.Metadata(producer, [topics.Commands, topics.Dlq], TimeSpan.FromSeconds(10));
        consumer.Subscribe([topics.Inventory, topics.Detections, topics.Results]);
        ConsumeLoop.Run(consumer, producer, kafka, "planner", time, logger, cr =>
        {
            PlanDecision? decision = null;
            if (cr.Topic == topics.Inventory)
            {
                // Null values are tombstones of entities that went away.
                var state = cr.Message.Value is null ? null : KafkaSerdes.Decode(inventory, cr.Message.Value, cr.Topic);
                if (state is not null && InventoryView.Actuator(state) is { } actuator)
                {
                    _book.Upsert(actuator);
                    LogActuator(logger, actuator.ActuatorId, actuator.Host, actuator.Levels, actuator.IsolationPool);
                    // Topics are read in no fixed order: a detection may have come before the
                    // actuator that can serve it.
                    foreach (var retried in planner.Retry())
                    {
                        Send(retried);
                    }
                }
                else
                {
                    InventoryView.Tenancy(cr.Message.Key, state, _book.Tenants);
                }
            }
            else if (cr.Topic == topics.Detections)
            {
                decision = planner.Plan(KafkaSerdes.Decode(detections, cr.Message.Value, cr.Topic));
            }
            else
            {
                decision = planner.OnResult(KafkaSerdes.Decode(results, cr.Message.Value, cr.Topic));
            }
            if (decision is not null)
            {
                Send(decision);
            }
        }, ct);

        void Send(PlanDecision decision)
        {
            LogDecision(logger, decision.Reasons);
            if (decision.Receive is { } receive)
            {
                signer.Sign(receive);
                ConsumeLoop.Produce(producer, commands, topics.Commands, receive.target, receive);
            }
            if (decision.Command is { } cmd)
            {
                signer.Sign(cmd);
                ConsumeLoop.Produce(producer, commands, topics.Commands, cmd.source, cmd);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "planner: actuator {Id} on {Host}: levels {Levels}, pool {Pool}")]
    private static partial void LogActuator(ILogger logger, string id, string host, IReadOnlySet<string> levels, SafeHaven.Core.CpuList pool);

    [LoggerMessage(Level = LogLevel.Information, Message = "planner: {Reasons}")]
    private static partial void LogDecision(ILogger logger, IReadOnlyList<string> reasons);
}
