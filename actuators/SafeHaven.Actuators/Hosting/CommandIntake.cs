using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using SafeHaven.Core;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Telemetry;
using SafeHaven.Kafka.DeadLetters;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Tracing;
using SafeHaven.Schemas;

namespace SafeHaven.Actuators.Hosting;

/// <summary>
/// The Kafka side every agent shares: announce the capabilities in the inventory, warm up, then
/// execute the commands keyed by the agent's id and answer each with exactly one result.
/// </summary>
internal static partial class CommandIntake
{
    /// <summary>Runs until <paramref name="ct"/> is cancelled.</summary>
    /// <param name="kafka">Clients of the deployment.</param>
    /// <param name="id">Agent id: commands keyed by it are executed, others ignored.</param>
    /// <param name="role">Role prefix of group, client and component names (actuator, hypervisor).</param>
    /// <param name="levels">The levels this agent serves. Agents of different levels may share an id (all default to
    /// the host name): each answers only its own levels, so a command never gets two results.</param>
    /// <param name="answerUnknownLevels">True for exactly one role (the host actuator): it rejects levels no agent serves.</param>
    /// <param name="capabilities">The inventory record announcing what the agent can do.</param>
    /// <param name="unauthentic">Why a command is not signed by a trusted planner key, or null: such a command is
    /// dead-lettered, never answered (an answer is a sealed result for whatever command id the forger chose).</param>
    /// <param name="execute">Runs one command; never throws for anything the command holds.</param>
    /// <param name="reconcile">The results of moves a crash cut short, published before new commands run.</param>
    /// <param name="published">Told once a result is on the broker, so its command is not reconciled again.</param>
    /// <param name="time">Clock of dead letters.</param>
    /// <param name="logger">Where dead letters are logged.</param>
    /// <param name="ct">Stops the loop.</param>
    public static void Run(KafkaClients kafka, string id, string role, IReadOnlyCollection<string> levels, bool answerUnknownLevels, EntityState capabilities,
        Func<IsolationCommand, string?> unauthentic, Func<IsolationCommand, IsolationResult> execute, Func<IReadOnlyList<IsolationResult>> reconcile,
        Action<IsolationResult> published, TimeProvider time, ILogger logger, CancellationToken ct)
    {
        var topics = kafka.Topics;
        using var consumer = new ConsumerBuilder<string, byte[]>(kafka.Consumer($"safehaven-{role}-{id}", $"{role}-{id}")).Build();
        var producerConfig = kafka.Producer($"{role}-{id}");
        // Each result is awaited before the next command runs: lingering only delays it (Flush cut the linger short,
        // waiting for a delivery report does not).
        producerConfig.LingerMs = 0;
        using var producer = new ProducerBuilder<string, byte[]>(producerConfig).Build();
        var acks = new Acknowledgements();
        var results = kafka.Serdes.Serializer<IsolationResult>();
        var commands = kafka.Serdes.Deserializer<IsolationCommand>();
        ConsumeLoop.Produce(producer, kafka.Serdes.Serializer<EntityState>(), topics.Inventory, capabilities.entityId, capabilities,
            seal: RoleSeals.With(kafka.Seals.Actuator, Seals.Kinds.Inventory));
        producer.Flush(TimeSpan.FromSeconds(10));
        WarmUp.Codecs(kafka.Serdes);
        WarmUpChecks(kafka, unauthentic, time);
        WarmUp.Metadata(producer, [topics.Results, topics.Dlq], TimeSpan.FromSeconds(10));
        foreach (var reconciled in reconcile())
        {
            Publish(reconciled);
        }
        consumer.Subscribe(topics.Commands);
        var fence = new SafeHaven.Core.CrossDc.LeaseFence();
        ConsumeLoop.Run(consumer, producer, kafka, $"{role}:{id}", time, logger, cr =>
        {
            // Commands are keyed by agent id; other agents' commands are not ours to answer.
            if (cr.Message.Key != id)
            {
                return;
            }
            var cmd = KafkaSerdes.Decode(commands, cr.Message.Value, cr.Topic);
            // Bounded before use: out-of-bounds fields are dead-lettered by the loop and never reach the actuator.
            RecordRejectedException.Require(cmd, kafka.Options.Bounds.Problem(cmd, time.NowNs()));
            if (!levels.Contains(cmd.level) && (Levels.All.Contains(cmd.level) || !answerUnknownLevels))
            {
                if (logger.IsEnabled(LogLevel.Debug))
                {
                    var (what, which) = (Identifiers.Printable(cmd.commandId), Identifiers.Printable(cmd.level));
                    LogOtherLevel(logger, role, id, what, which);
                }
                return;
            }
            // After the level: of agents sharing an id, only the one that would answer dead-letters a forgery.
            if (unauthentic(cmd) is { } forged)
            {
                throw new RecordRejectedException($"command {Identifiers.Printable(cmd.commandId)}: {forged}");
            }
            // Authentic, but under a cross-datacenter lease older than one already acted on (docs/SCALING.md §4).
            if (fence.Admit(cmd) is { } stale)
            {
                throw new RecordRejectedException($"command {Identifiers.Printable(cmd.commandId)}: {stale}");
            }
            // The move's span, the child of the planner's decision; its result record carries it on.
            using var span = SafeHavenActivity.StartConsumer(SafeHavenActivity.Actuator, SafeHavenActivity.Actuate, cr.Message.Headers);
            var result = execute(cmd);
            CommandSpans.Describe(span, cmd, result);
            Publish(result);
        }, ct);

        // At least once: a crash between the acknowledgement and the journal's "done" line publishes the
        // result again after the restart (consumers key results by command id).
        void Publish(IsolationResult result)
        {
            result.cluster ??= kafka.Options.Cluster;
            var failed = false;
            ConsumeLoop.Produce(producer, results, topics.Results, result.commandId, result, report => failed = report.Error.IsError,
                RoleSeals.With(kafka.Seals.Actuator, Seals.Kinds.Results), acks);
            // Only a result the broker acknowledged closes the command in the journal; otherwise (not acknowledged
            // within 5 s, or refused) the restarted agent reconciles it and publishes again. Its own delivery report,
            // not Flush: Flush costs ≈10 ms a call (see Acknowledgements), which was most of a command's time.
            if (acks.Wait(TimeSpan.FromSeconds(5), CancellationToken.None) && !failed)
            {
                SafeHavenMetrics.ResultPublished(result.level, result.status, result.finishedAtNs - result.startedAtNs, result.phases);
                published(result);
            }
        }
    }

    // The checks every command meets before the agent runs it, once on a scratch command (unsigned: refused, and nothing
    // runs): the first real command paid for their JIT compilation (docs/PERFORMANCE.md, 2026-12-04 demo sample→result).
    private static void WarmUpChecks(KafkaClients kafka, Func<IsolationCommand, string?> unauthentic, TimeProvider time)
    {
        var now = time.NowNs();
        var scratch = new IsolationCommand
        {
            commandId = "warm-up", entity = new EntityRef { datacenter = "warm-up", host = "warm-up", pid = 2 }, level = Levels.Core,
            action = Actions.Isolate, source = "warm-up", target = "0", issuedAtNs = now, deadlineNs = now + 1, reasons = [], signature = [],
        };
        kafka.Options.Bounds.Problem(scratch, now);
        unauthentic(scratch);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Role} {Id}: {CommandId} is for level {Level}, served by another agent of this id")]
    private static partial void LogOtherLevel(ILogger logger, string role, string id, string commandId, string level);
}
