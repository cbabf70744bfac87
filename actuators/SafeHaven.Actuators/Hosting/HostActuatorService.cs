using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Actuators.Host;
using SafeHaven.Core;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.DeadLetters;
using SafeHaven.Schemas;

namespace SafeHaven.Actuators.Hosting;

/// <summary>
/// Runs the <see cref="HostActuator"/> against Kafka: announces its capabilities in the
/// inventory, then executes the commands keyed by its id and answers each with one result.
/// </summary>
internal sealed partial class HostActuatorService(KafkaClients kafka, HostActuator actuator, HostActuatorOptions options,
    ActuatorIdentity identity, TimeProvider time, ILogger<HostActuatorService> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        ConsumeLoop.OnOwnThread(() => Run(stoppingToken), stoppingToken);

    private void Run(CancellationToken ct)
    {
        actuator.WarmUp();
        foreach (var level in actuator.Intermediate.Support)
        {
            LogLevelSupport(logger, level);
        }
        CommandIntake.Run(kafka, options.Id, InventoryKinds.Actuator, Levels.OnHost, answerUnknownLevels: true, Capabilities(), actuator.Unauthentic, cmd =>
        {
            var result = actuator.Execute(cmd);
            LogResult(logger, result.commandId, result.status, result.cpus, result.error);
            return result;
        }, () =>
        {
            var reconciled = actuator.Reconcile();
            foreach (var r in reconciled)
            {
                LogResult(logger, r.commandId, r.status, r.cpus, r.error);
            }
            return reconciled;
        }, actuator.Published, time, logger, ct);
    }

    private EntityState Capabilities() => new()
    {
        entityId = EntityIds.OfActuator(identity.Datacenter, identity.Host, options.Id),
        kind = InventoryKinds.Actuator,
        entity = new EntityRef { datacenter = identity.Datacenter, host = identity.Host },
        cpus = actuator.OnlineCpus.ToString(),
        isolationPool = options.Pool.ToString(),
        levels = [.. actuator.Intermediate.Announced],
        counterStatus = new Dictionary<string, string>(),
        attributes = actuator.Intermediate.Describe(identity.WithSegment(new Dictionary<string, string>
        {
            [InventoryAttributes.ActuatorId] = options.Id, [InventoryAttributes.Cpuset] = actuator.CpusetKind,
        })),
        updatedAtNs = time.NowNs(),
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "actuator: level {Support}")]
    private static partial void LogLevelSupport(ILogger logger, LevelSupport support);

    [LoggerMessage(Level = LogLevel.Information, Message = "actuator: {CommandId} {Status} cpus={Cpus} {Error}")]
    private static partial void LogResult(ILogger logger, string commandId, string status, string? cpus, string? error);
}

/// <summary>Where an actuator runs.</summary>
/// <param name="Datacenter">Datacenter id.</param>
/// <param name="Host">Host id.</param>
/// <param name="Segment">The host's network segment (a rack or subnet label) for the network scope, when configured.</param>
public sealed record ActuatorIdentity(string Datacenter, string Host, string? Segment = null)
{
    /// <summary>Adds the segment attribute to an actuator's inventory attributes when one is configured.</summary>
    public Dictionary<string, string> WithSegment(Dictionary<string, string> attributes)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        if (Segment is not null)
        {
            attributes[InventoryAttributes.NetworkSegment] = Segment;
        }
        return attributes;
    }
}
