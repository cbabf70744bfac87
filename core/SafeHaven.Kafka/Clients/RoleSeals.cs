using Confluent.Kafka;
using SafeHaven.Security;

namespace SafeHaven.Kafka.Clients;

/// <summary>
/// The keys of the roles this process runs, and the keys it trusts (docs/SECURITY.md). A consumer checks the seal of
/// a record kind once it trusts some key allowed to write that kind: an operator enrols a role's keys, and from then
/// on nothing unsealed of that kind changes any state. <see cref="None"/> seals and checks nothing.
/// </summary>
public sealed class RoleSeals
{
    /// <summary>No keys: records are neither sealed nor checked (unit tests, tools).</summary>
    public static RoleSeals None { get; } = new();

    /// <summary>The probe's key (samples, inventory of its host), or null.</summary>
    public RecordSigner? Probe { get; init; }

    /// <summary>
    /// The probe's host MAC key (<see cref="SampleMacKeys"/>), sealing samples in place of <see cref="Probe"/>, which
    /// then seals only inventory; null seals samples with <see cref="Probe"/>.
    /// </summary>
    public RecordSigner? SampleMac { get; init; }

    /// <summary>The sealer of samples: the host MAC key if there is one, else the probe's Ed25519 key.</summary>
    public RecordSigner? Samples => SampleMac ?? Probe;

    /// <summary>The detector's key (detections), or null.</summary>
    public RecordSigner? Detector { get; init; }

    /// <summary>The actuator's key (results, its capability record), or null.</summary>
    public RecordSigner? Actuator { get; init; }

    /// <summary>The planner's key for ledger records, or null.</summary>
    public RecordSigner? Planner { get; init; }

    /// <summary>The trusted keys of every role, or null.</summary>
    public RecordVerifier? Verifier { get; init; }

    // The roles whose enrolment turns checking of a kind on. The planner may also write results (its skipped
    // outcomes), but trusting the planner's key must not make every agent's results need a seal.
    private static readonly Dictionary<string, string[]> Producers = new(StringComparer.Ordinal)
    {
        [Seals.Kinds.Samples] = [KeyRoles.Probe],
        [Seals.Kinds.Inventory] = [KeyRoles.Probe, KeyRoles.Actuator],
        [Seals.Kinds.Detections] = [KeyRoles.Detector],
        [Seals.Kinds.Results] = [KeyRoles.Actuator],
        [Seals.Kinds.Commands] = [KeyRoles.Planner],
        [Seals.Kinds.Placements] = [KeyRoles.Planner],
    };

    /// <summary>The roles whose keys seal records of <paramref name="kind"/>, for messages naming what to enrol.</summary>
    public static IReadOnlyList<string> ProducersOf(string kind) => Producers.TryGetValue(kind, out var roles) ? roles : [];

    private HashSet<string>? _checked;

    /// <summary>True when records of <paramref name="kind"/> must carry a valid seal here: a key of their producing role is trusted.</summary>
    public bool Checks(string kind)
    {
        // Asked once per record on the detector's path: worked out once, since the keys never change.
        _checked ??= Verifier is { } v
            ? Producers.Where(p => p.Value.Any(v.Trusts)).Select(p => p.Key).ToHashSet(StringComparer.Ordinal)
            : [];
        return _checked.Contains(kind);
    }

    /// <summary>
    /// The identity that sealed <paramref name="message"/>, null when this kind is not checked here; throws
    /// <see cref="SafeHaven.Kafka.Serialization.RecordRejectedException"/> when it must be and is not authentic.
    /// </summary>
    public KeyIdentity? Require(string kind, Message<string, byte[]> message) =>
        Checks(kind) ? Seals.Require(Verifier!, kind, message) : null;

    /// <summary>A seal for <see cref="ConsumeLoop.Produce{T}"/>, or null without a key.</summary>
    public static (RecordSigner, string)? With(RecordSigner? signer, string kind) => signer is null ? null : (signer, kind);

    /// <summary>Keys from disk for the roles of one verb: <paramref name="signers"/> seal, <paramref name="verifier"/> checks.</summary>
    public static RoleSeals From(RecordVerifier? verifier, params RecordSigner[] signers) => new()
    {
        Probe = signers.FirstOrDefault(s => s.Identity.Role == KeyRoles.Probe && !s.IsHostMac),
        SampleMac = signers.FirstOrDefault(s => s.IsHostMac),
        Detector = signers.FirstOrDefault(s => s.Identity.Role == KeyRoles.Detector),
        Actuator = signers.FirstOrDefault(s => s.Identity.Role == KeyRoles.Actuator),
        Planner = signers.FirstOrDefault(s => s.Identity.Role == KeyRoles.Planner),
        Verifier = verifier,
    };

    /// <summary>
    /// Keys for every role of one process that outlive it: kept in <paramref name="directory"/> (0700, keys 0600) and
    /// reused at the next start, so the records this process sealed before a crash (the ledger, the inventory on their
    /// compacted topics) still verify after it.
    /// </summary>
    public static RoleSeals Persistent(string directory, string probeSubject, string actuatorSubject)
    {
        RecordSigner Load(string role, string subject)
        {
            var existing = Directory.Exists(directory)
                ? new DirectoryInfo(directory).GetFiles("*.key").Where(f => SigningKeys.RoleOf(f.FullName) == (role, subject))
                    .OrderByDescending(f => f.LastWriteTimeUtc).FirstOrDefault()?.FullName
                : null;
            return SigningKeys.LoadRecordSigner(existing ?? Path.Combine(directory, SigningKeys.Generate(directory, role, subject) + ".key"), role);
        }
        var probe = Load(KeyRoles.Probe, probeSubject);
        var detector = Load(KeyRoles.Detector, "detector");
        var actuator = Load(KeyRoles.Actuator, actuatorSubject);
        var planner = Load(KeyRoles.Planner, KeyRoles.Planner);
        var masters = SampleMacKeys.LoadMasters(directory);
        if (masters.Count == 0)
        {
            SampleMacKeys.GenerateMaster(directory);
            masters = SampleMacKeys.LoadMasters(directory);
        }
        return AllRoles(masters, probeSubject, probe, detector, actuator, planner);
    }

    /// <summary>Keys for every role of one process (<c>up</c>, the demo): fresh, in memory, trusted by this process only.</summary>
    public static RoleSeals Ephemeral(string probeSubject, string actuatorSubject)
    {
        var master = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        return AllRoles(new Dictionary<string, byte[]> { [SampleMacKeys.KeyId(master)] = master }, probeSubject,
            RecordSigner.Ephemeral(KeyRoles.Probe, probeSubject),
            RecordSigner.Ephemeral(KeyRoles.Detector, "detector"),
            RecordSigner.Ephemeral(KeyRoles.Actuator, actuatorSubject),
            RecordSigner.Ephemeral(KeyRoles.Planner, KeyRoles.Planner));
    }

    // Samples are sealed with the host's MAC key, derived from the (newest) master as an enrolled probe's would be.
    private static RoleSeals AllRoles(Dictionary<string, byte[]> masters, string probeSubject,
        RecordSigner probe, RecordSigner detector, RecordSigner actuator, RecordSigner planner)
    {
        var (masterId, master) = masters.OrderBy(m => m.Key, StringComparer.Ordinal).First();
        var sampleMac = SampleMacKeys.IsHostSubject(probeSubject)
            ? RecordSigner.HostMac(SampleMacKeys.Derive(master, probeSubject), new KeyIdentity(masterId, KeyRoles.Probe, probeSubject))
            : null;
        return new RoleSeals
        {
            Probe = probe, SampleMac = sampleMac, Detector = detector, Actuator = actuator, Planner = planner,
            Verifier = RecordVerifier.Trusting(masters, probe, detector, actuator, planner),
        };
    }
}
