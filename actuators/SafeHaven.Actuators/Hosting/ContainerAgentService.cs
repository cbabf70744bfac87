using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Actuators.Agent;
using SafeHaven.Actuators.Container;
using SafeHaven.Core;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.DeadLetters;
using SafeHaven.Schemas;

namespace SafeHaven.Actuators.Hosting;

/// <summary>
/// Runs one <see cref="ContainerActuator"/> (a container agent) against Kafka: announces its <c>container</c> capability
/// in the inventory when CRIU works here, reconciles the moves a crash cut short, then executes the commands keyed by
/// its id and answers each with exactly one result. Owns the actuator and its journal.
/// </summary>
internal sealed partial class ContainerAgentService(KafkaClients kafka, ContainerActuator actuator, CommandJournal? journal,
    ContainerActuatorOptions options, ActuatorIdentity identity, TimeProvider time, ILogger<ContainerAgentService> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        ConsumeLoop.OnOwnThread(() => Run(stoppingToken), stoppingToken);

    private void Run(CancellationToken ct)
    {
        // Probed before the announcement: the planner must not send container moves to a host where criu cannot run.
        var capability = actuator.ProbeAsync(ct).GetAwaiter().GetResult();
        if (capability.Available)
        {
            LogCriu(logger, options.Id, capability.Version, capability.LazyPages ? "available" : capability.LazyPagesReason);
        }
        else
        {
            LogNoCriu(logger, options.Id, capability.Reason);
        }
        CommandIntake.Run(kafka, options.Id, "container", [Levels.Container], answerUnknownLevels: false, Capabilities(capability), actuator.Unauthentic, cmd =>
        {
            // This loop's thread is dedicated to the agent, and one move at a time is the actuator's rule anyway.
            var result = actuator.ExecuteAsync(cmd, ct).GetAwaiter().GetResult();
            LogResult(logger, options.Id, result.commandId, result.status, result.error);
            return result;
        }, () =>
        {
            var reconciled = actuator.ReconcileAsync(ct).GetAwaiter().GetResult();
            foreach (var r in reconciled)
            {
                LogResult(logger, options.Id, r.commandId, r.status, r.error);
            }
            return reconciled;
        }, actuator.Published, time, logger, ct);
    }

    private EntityState Capabilities(CriuCapability capability) => new()
    {
        entityId = EntityIds.OfActuator(identity.Datacenter, identity.Host, options.Id),
        kind = InventoryKinds.Actuator,
        entity = new EntityRef { datacenter = identity.Datacenter, host = identity.Host },
        cpus = null,
        isolationPool = null,
        // Without a working criu the agent can neither send nor receive: announcing no level makes the planner escalate.
        levels = capability.Available ? [Levels.Container] : [],
        counterStatus = new Dictionary<string, string>(),
        attributes = identity.WithSegment(new Dictionary<string, string>
        {
            [InventoryAttributes.ActuatorId] = options.Id,
            ["agent"] = "container",
            ["criu"] = capability.Available ? capability.Version ?? "unknown version" : "unavailable: " + (capability.Reason ?? "unknown reason"),
            ["lazyPages"] = capability.LazyPages ? "true" : "false",
            ["pageMode"] = options.Criu.Mode == CriuPageMode.LazyPages ? "lazy-pages" : "page-server",
        }),
        updatedAtNs = time.NowNs(),
    };

    public override void Dispose()
    {
        base.Dispose();
        actuator.Dispose();
        journal?.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "container agent {Id}: criu {Version}; lazy pages: {LazyPages}")]
    private static partial void LogCriu(ILogger logger, string id, string? version, string? lazyPages);

    [LoggerMessage(Level = LogLevel.Warning, Message = "container agent {Id}: no container moves here, announcing no level: {Reason}")]
    private static partial void LogNoCriu(ILogger logger, string id, string? reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "container agent {Id}: {CommandId} {Status} {Error}")]
    private static partial void LogResult(ILogger logger, string id, string commandId, string status, string? error);
}
