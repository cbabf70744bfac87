using System.Collections.Concurrent;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Core;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;
using SafeHaven.Security;
using SafeHaven.StreamProcessors.Planning;

namespace SafeHaven.StreamProcessors.MovingTarget;

/// <summary>
/// Moving-target defence (the original's second case study): every period, moves each configured
/// entity to the next CPU of its host's isolation pool with a signed command, so that a co-resident
/// attacker keeps losing its channel, and records what that costs from the actuators' results.
/// One thread reads inventory and results; the timer thread issues the rounds.
/// </summary>
internal sealed partial class MovingTargetScheduler(KafkaClients kafka, MovingTargetOptions options, CommandSigner signer,
    MovingTargetMetrics metrics, TimeProvider time, ILogger<MovingTargetScheduler> logger) : BackgroundService
{
    private readonly Lock _gate = new();
    private readonly MovingTargetRounds _rounds = new(options, time);
    private readonly ConcurrentDictionary<string, byte> _issued = new(StringComparer.Ordinal);
    private readonly string _period = MovingTargetRounds.Format(options.Period);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Run(() => RunAsync(stoppingToken), stoppingToken);

    private async Task RunAsync(CancellationToken ct)
    {
        var topics = kafka.Topics;
        // A fresh group per run reads the inventory from its start, where the pools are.
        var config = kafka.Consumer(options.GroupId + "-" + Guid.NewGuid().ToString("N"), "moving-target");
        config.EnableAutoCommit = false;
        using var consumer = new ConsumerBuilder<string, byte[]>(config).Build();
        using var producer = new ProducerBuilder<string, byte[]>(kafka.Producer("moving-target")).Build();
        var commands = kafka.Serdes.Serializer<IsolationCommand>();
        var inventory = kafka.Serdes.Deserializer<EntityState>();
        var results = kafka.Serdes.Deserializer<IsolationResult>();
        WarmUp.Codecs(kafka.Serdes);
        consumer.Subscribe([topics.Inventory, topics.Results]);
        LogStarted(logger, options.Entities.Count, _period, options.Level);
        var reader = ConsumeLoop.OnOwnThread(() => ConsumeLoop.Run(consumer, producer, kafka, "moving-target", time, logger, cr =>
        {
            if (cr.Topic == topics.Inventory)
            {
                if (cr.Message.Value is not null &&
                    InventoryView.Actuator(KafkaSerdes.Decode(inventory, cr.Message.Value, cr.Topic)) is { } actuator)
                {
                    lock (_gate)
                    {
                        _rounds.Upsert(actuator);
                    }
                }
            }
            else if (_issued.TryRemove(cr.Message.Key ?? "", out _))
            {
                metrics.Record(KafkaSerdes.Decode(results, cr.Message.Value, cr.Topic));
            }
        }, ct), ct);

        using var timer = new PeriodicTimer(options.Period, time);
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                Round(producer, commands);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        // The reader flushes the producer and closes the consumer before they are disposed.
        await reader.ConfigureAwait(false);
    }

    private void Round(IProducer<string, byte[]> producer, Confluent.Kafka.ISerializer<IsolationCommand> serializer)
    {
        IReadOnlyList<IsolationCommand> commands;
        IReadOnlyList<string> problems;
        lock (_gate)
        {
            (commands, problems) = _rounds.Next();
        }
        metrics.Round();
        foreach (var problem in problems)
        {
            metrics.NotPlaced();
            LogNotPlaced(logger, problem);
        }
        foreach (var cmd in commands)
        {
            signer.Sign(cmd);
            _issued[cmd.commandId] = 0;
            ConsumeLoop.Produce(producer, serializer, kafka.Topics.Commands, cmd.Addressee(), cmd);
            metrics.Issued();
            LogCommand(logger, cmd.entity.host, cmd.entity.pid ?? 0, cmd.target, cmd.commandId);
        }
        // Results of this round arrive later: the summary reports what has come back so far.
        var meanMs = Math.Round(metrics.MeanMoveMs, 3);
        var totalMs = Math.Round(metrics.TotalMoveTime.TotalMilliseconds, 3);
        LogSummary(logger, metrics.Rounds, commands.Count, metrics.Migrations, metrics.Succeeded, metrics.NotSucceeded, meanMs, totalMs);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "moving-target: migrating {Count} entities at level {Level} every {Period}")]
    private static partial void LogStarted(ILogger logger, int count, string period, string level);

    [LoggerMessage(Level = LogLevel.Warning, Message = "moving-target: not moved: {Problem}")]
    private static partial void LogNotPlaced(ILogger logger, string problem);

    [LoggerMessage(Level = LogLevel.Debug, Message = "moving-target: {Host}/pid/{Pid} to cpu {Target} ({CommandId})")]
    private static partial void LogCommand(ILogger logger, string host, int pid, string target, string commandId);

    [LoggerMessage(Level = LogLevel.Information, Message = "moving-target: round {Round}: {Issued} moves; overall {Migrations} migrations, " +
        "{Succeeded} succeeded, {NotSucceeded} not, mean move {MeanMs} ms, total move time {TotalMs} ms")]
    private static partial void LogSummary(ILogger logger, long round, int issued, long migrations, long succeeded, long notSucceeded, double meanMs, double totalMs);
}
