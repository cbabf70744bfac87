using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Actuators.Agent;
using SafeHaven.Actuators.Vm;
using SafeHaven.Actuators.Vm.Libvirt;
using SafeHaven.Core;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.DeadLetters;
using SafeHaven.Schemas;

namespace SafeHaven.Actuators.Hosting;

/// <summary>
/// Runs one <see cref="VmActuator"/> (a hypervisor agent) against Kafka: announces its <c>vm</c> capability in
/// the inventory, then executes the commands keyed by its id and answers each with exactly one result.
/// Owns the actuator: disposing the service lets go of the guests it received (they keep running unless
/// <see cref="VmActuatorOptions.StopReceivedGuestsOnDispose"/>), then closes its journal.
/// </summary>
internal sealed partial class HypervisorService(KafkaClients kafka, VmActuator actuator, CommandJournal? journal, VmActuatorOptions options,
    ActuatorIdentity identity, TimeProvider time, ILogger<HypervisorService> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        ConsumeLoop.OnOwnThread(() => Run(stoppingToken), stoppingToken);

    private void Run(CancellationToken ct) =>
        CommandIntake.Run(kafka, options.Id, "hypervisor", [Levels.Vm], answerUnknownLevels: false, Capabilities(), actuator.Unauthentic, cmd =>
        {
            // This loop's thread is dedicated to the agent, and one move at a time is the actuator's rule anyway.
            var result = actuator.ExecuteAsync(cmd, ct).GetAwaiter().GetResult();
            LogResult(logger, options.Id, result.commandId, result.status, result.downtimeNs, result.error);
            return result;
        }, () =>
        {
            var reconciled = actuator.ReconcileAsync(ct).GetAwaiter().GetResult();
            foreach (var r in reconciled)
            {
                LogResult(logger, options.Id, r.commandId, r.status, r.downtimeNs, r.error);
            }
            return reconciled;
        }, actuator.Published, time, logger, ct);

    private EntityState Capabilities()
    {
        // Without QEMU (or a libvirt daemon that can run qemu domains) the agent cannot receive or send guests:
        // announcing no level makes the planner look elsewhere.
        var qemu = File.Exists(QemuGuest.Binary);
        var libvirt = options.Backend == VmBackends.Libvirt
            ? LibvirtProbe.ProbeAsync(options.LibvirtOf(options.Id)!).GetAwaiter().GetResult()
            : null;
        var able = qemu && libvirt is null or { Available: true };
        return new EntityState
        {
            entityId = EntityIds.OfActuator(identity.Datacenter, identity.Host, options.Id),
            kind = InventoryKinds.Actuator,
            entity = new EntityRef { datacenter = identity.Datacenter, host = identity.Host },
            cpus = null,
            isolationPool = null,
            levels = able ? [Levels.Vm] : [],
            counterStatus = new Dictionary<string, string>(),
            attributes = identity.WithSegment(new Dictionary<string, string>
            {
                [InventoryAttributes.ActuatorId] = options.Id,
                ["agent"] = "hypervisor",
                ["backend"] = options.Backend,
                [InventoryAttributes.Capacity] = Capacity(),
                ["capacityUnit"] = "MiB",
                ["qemu"] = qemu ? QemuGuest.Binary : "missing: " + QemuGuest.Binary,
                ["libvirt"] = libvirt is null ? "unused" : libvirt.Available ? $"libvirt {libvirt.LibvirtVersion}, QEMU {libvirt.HypervisorVersion}" : "unavailable: " + libvirt.Problem,
            }),
            updatedAtNs = time.NowNs(),
        };
    }

    // Guest memory the host can still take: MemAvailable, the kernel's own estimate.
    private static string Capacity()
    {
        try
        {
            var line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemAvailable:", StringComparison.Ordinal));
            var kb = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
            return kb is not null && long.TryParse(kb, NumberStyles.None, CultureInfo.InvariantCulture, out var k)
                ? (k / 1024).ToString(CultureInfo.InvariantCulture) : "0";
        }
        catch (IOException)
        {
            return "0";
        }
    }

    public override void Dispose()
    {
        base.Dispose();
        actuator.Dispose();
        journal?.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "hypervisor {Id}: {CommandId} {Status} downtimeNs={DowntimeNs} {Error}")]
    private static partial void LogResult(ILogger logger, string id, string commandId, string status, long? downtimeNs, string? error);
}
