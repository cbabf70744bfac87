using Confluent.Kafka;
using SafeHaven.Core;
using SafeHaven.Core.Placement;
using SafeHaven.Kafka.Clients;
using SafeHaven.Schemas;
using SafeHaven.Security;

namespace SafeHaven.StreamProcessors.Planning;

/// <summary>
/// The planner's first command paid ≈20 ms more than the next ones (docs/PERFORMANCE.md): JIT of the planning code,
/// the ledger and command codecs, and the first Ed25519 signature. This runs that path once at start on a scratch
/// ledger (one synthetic actuator and process), signs the resulting command and seals its ledger records with the
/// planner's real keys, and throws the results away: nothing is written and the real ledger is not touched.
/// </summary>
internal static class PlannerWarmUp
{
    private const string Host = "warm-up";

    /// <summary>Plans, seals and signs one synthetic isolation; returns the command made (null if the policy refused it).</summary>
    public static IsolationCommand? Run(KafkaClients kafka, PlannerOptions options, CommandSigner signer, TimeProvider time)
    {
        var book = new PlacementBook(options.InstanceId + "-warm-up");
        var actuator = new EntityState
        {
            entityId = EntityIds.OfActuator(Host, Host, Host),
            kind = InventoryKinds.Actuator,
            entity = new EntityRef { datacenter = Host, host = Host },
            cpus = "0-1",
            isolationPool = "1",
            levels = [Levels.Core],
            counterStatus = new Dictionary<string, string>(),
            attributes = new Dictionary<string, string> { [InventoryAttributes.ActuatorId] = Host },
        };
        book.Upsert(InventoryView.Actuator(actuator)!);
        var entity = new EntityRef { datacenter = Host, host = Host, pid = 2, comm = Host, startTime = 1 };
        var process = new EntityState
        {
            entityId = EntityIds.Of(entity), kind = InventoryKinds.Process, entity = entity, cpus = "0-1", levels = [Levels.Core],
            counterStatus = new Dictionary<string, string>(), attributes = new Dictionary<string, string> { [InventoryAttributes.Group] = "pgid:2" },
        };
        InventoryView.Tenancy(process.entityId, process, book.Tenants);
        var planner = new Planner(book, time, new PlannerSettings(options.CommandTtl, options.DryRun, options.ExpiryGrace, options.Policy()));
        var now = time.NowNs();
        var decision = planner.Plan(new SafeHaven.Schemas.Detection
        {
            detectionId = Host, entity = entity, rule = Host, counter = Host, rate = 2, threshold = 1, scope = Scopes.Core,
            detectedAtNs = now, firstSampleAtNs = now - 1_000_000_000, kind = DetectionKinds.Detected,
        });
        // The bounds every detection and result is checked against before it reaches the planner.
        kafka.Options.Bounds.Problem(new SafeHaven.Schemas.Detection
        {
            detectionId = Host, entity = entity, rule = Host, counter = Host, rate = 2, threshold = 1, scope = Scopes.Core,
            detectedAtNs = now, firstSampleAtNs = now - 1_000_000_000, kind = DetectionKinds.Detected,
        }, now);
        var ledger = kafka.Serdes.Serializer<SlotRecord>();
        foreach (var record in decision.Records)
        {
            var value = ledger.Serialize(record, new SerializationContext(MessageComponentType.Value, kafka.Topics.Placements));
            if (kafka.Seals.Planner is { } key)
            {
                Seals.Headers(key, Seals.Kinds.Placements, record.slot, value);
            }
        }
        if (decision.Command is { } command)
        {
            signer.Sign(command);
            kafka.Serdes.Serializer<IsolationCommand>().Serialize(command, new SerializationContext(MessageComponentType.Value, kafka.Topics.Commands));
            kafka.Options.Bounds.Problem(new IsolationResult
            {
                commandId = command.commandId, entity = entity, level = Levels.Core, status = ResultStatus.Skipped, actuator = Host,
                phases = new Dictionary<string, long>(), startedAtNs = now, finishedAtNs = now,
            }, now);
        }
        return decision.Command;
    }
}
