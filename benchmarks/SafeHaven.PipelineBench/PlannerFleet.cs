using System.Globalization;
using NSec.Cryptography;
using SafeHaven.Core;
using SafeHaven.Kafka.Clients;
using SafeHaven.Schemas;
using SafeHaven.Security;
using SafeHaven.StreamProcessors.Planning;

namespace SafeHaven.PipelineBench;

/// <summary>
/// The planner bench's fleet: hosts <c>h0…</c> in <c>dc1</c>, each with one core-level actuator (<c>act-hN</c>) and
/// its probe, as `up` runs them on every host. Every host has a probe key (subject dc1/hN) and an actuator key
/// (subject act-hN), so the planner's checks of who may speak for an inventory record pass as in a real fleet; one
/// detector and one planner key serve all (the roles of <see cref="RoleSeals.Ephemeral"/>).
/// </summary>
internal sealed class PlannerFleet : IDisposable
{
    private readonly Dictionary<string, (PublicKey Key, KeyIdentity Who)> _trusted = new(StringComparer.Ordinal);

    /// <summary>Creates the keys of <paramref name="hosts"/> hosts (≈0.1 ms per host).</summary>
    public PlannerFleet(int hosts, string pool)
    {
        Hosts = hosts;
        Pool = pool;
        Detector = RecordSigner.Ephemeral(KeyRoles.Detector, "detector");
        Planner = RecordSigner.Ephemeral(KeyRoles.Planner, KeyRoles.Planner);
        Trust(Detector);
        Trust(Planner);
    }

    public int Hosts { get; }

    /// <summary>Every actuator's isolation pool: one exclusive CPU per suspect group placed on the host.</summary>
    public string Pool { get; }

    public RecordSigner Detector { get; }

    public RecordSigner Planner { get; }

    /// <summary>What the planner process holds: its own key and the public keys of every role of every host.</summary>
    public RoleSeals Seals => new() { Planner = Planner, Detector = Detector, Verifier = new RecordVerifier(_trusted) };

    public static string Host(int i) => "h" + i.ToString(CultureInfo.InvariantCulture);

    public static string ActuatorId(int host) => "act-" + Host(host);

    /// <summary>
    /// Calls <paramref name="seal"/> with the probe key and the actuator key of each host in turn. The private keys
    /// live only for their host's records: libsodium guards each in its own pages, and 20 000 live keys would pass the
    /// kernel's 65 530 memory mappings per process. Their public halves stay trusted.
    /// </summary>
    public void ForEachHost(Action<int, RecordSigner, RecordSigner> seal)
    {
        for (var h = 0; h < Hosts; h++)
        {
            using var probe = RecordSigner.Ephemeral(KeyRoles.Probe, EntityIds.OfHost("dc1", Host(h)));
            using var actuator = RecordSigner.Ephemeral(KeyRoles.Actuator, ActuatorId(h));
            Trust(probe);
            Trust(actuator);
            seal(h, probe, actuator);
        }
    }

    /// <summary>The capability record an actuator writes at start (HostActuatorService).</summary>
    public EntityState Actuator(int host) => new()
    {
        entityId = EntityIds.OfActuator("dc1", Host(host), ActuatorId(host)),
        kind = InventoryKinds.Actuator,
        entity = new EntityRef { datacenter = "dc1", host = Host(host) },
        cpus = "0-" + (CpuList.Parse(Pool).Cpus.Max() + 1).ToString(CultureInfo.InvariantCulture),
        isolationPool = Pool,
        levels = [Levels.Core],
        counterStatus = new Dictionary<string, string>(),
        attributes = new Dictionary<string, string> { [InventoryAttributes.ActuatorId] = ActuatorId(host), [InventoryAttributes.Cpuset] = "cgroup-v1" },
        updatedAtNs = Bench.NowNs(),
    };

    /// <summary>A probe's record of a process in a process group of its own (InventoryBuilder).</summary>
    public static EntityState Process(int host, int pid)
    {
        var entity = new EntityRef { datacenter = "dc1", host = Host(host), pid = pid, comm = "w", startTime = 1000 + pid };
        return new EntityState
        {
            entityId = EntityIds.Of(entity), kind = InventoryKinds.Process, entity = entity, cpus = "0-1", levels = [Levels.Core],
            counterStatus = new Dictionary<string, string>(),
            attributes = new Dictionary<string, string>
            {
                ["uid"] = "1000", [InventoryAttributes.Group] = "pgid:" + pid.ToString(CultureInfo.InvariantCulture),
            },
            updatedAtNs = Bench.NowNs(),
        };
    }

    /// <summary>A core-scope detection of that process, dated now, as the detector writes it.</summary>
    public static Detection DetectionOf(int host, int pid, string id)
    {
        var now = Bench.NowNs();
        return new Detection
        {
            detectionId = id, entity = new EntityRef { datacenter = "dc1", host = Host(host), pid = pid, comm = "w", startTime = 1000 + pid },
            rule = "cs-storm", counter = Bench.ContextSwitches, rate = 50_000, threshold = 1000, scope = Scopes.Core,
            detectedAtNs = now, firstSampleAtNs = now - 1_000_000_000, kind = DetectionKinds.Detected,
        };
    }

    private void Trust(RecordSigner signer) => _trusted[signer.Identity.KeyId] = (signer.PublicKey, signer.Identity);

    public void Dispose()
    {
        Detector.Dispose();
        Planner.Dispose();
    }
}
