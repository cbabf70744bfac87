using SafeHaven.Core;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;
using SafeHaven.Security;
using static SafeHaven.Cli.Tests.Pipeline.HostileRecords;

namespace SafeHaven.Cli.Tests.Pipeline;

/// <summary>
/// What the hostile writer knows of the running pipeline: the genuine records it read off the topics (its templates
/// and replays), the roles' keys (<see cref="Keys"/>, for records a compromised role would seal) and keys nobody enrolled.
/// </summary>
internal sealed record HostileScene(string Host, string AgentId, RoleSeals Keys, RoleSeals Foreign, CommandSigner ForeignPlanner,
    EntityState Benign, string CanaryEntity, Dictionary<string, List<RawRecord>> GenuineByKind);

/// <summary>≥ 1,000 hostile records per topic (docs/RELIABILITY.md, issue 10), built from genuine templates with a seeded random.</summary>
internal static partial class HostileCatalog
{
    private static readonly long Y2001 = (new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero) - DateTimeOffset.UnixEpoch).Ticks * 100;
    private const long Hour = 3_600_000_000_000;
    private const long Minute = 60_000_000_000;

    public static long NowNs() => (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;

    private static T Decode<T>(RawRecord r) where T : class, Avro.Specific.ISpecificRecord, new() => new SingleObjectCodec<T>().Decode(r.Value);

    public static List<Hostile> Samples(Random random, string topic, HostileScene s)
    {
        var set = new HostileRecords(random, topic, Seals.Kinds.Samples, s.Keys.Probe, s.Foreign.Probe);
        var genuine = s.GenuineByKind[Seals.Kinds.Samples];
        var batch = Decode<SampleBatch>(genuine[0]);
        batch.samples = [batch.samples[0]]; // one entry: one dead letter per refused record
        var key = genuine[0].Key!;
        set.Junk(new SingleObjectCodec<SampleBatch>().Encode(batch), set.RandomKey);
        set.Absurd(batch, [
            ("pid 0", (b, _) => b.samples[0].pid = 0),
            ("pid above pid_max", (b, _) => b.samples[0].pid = 5_000_000),
            ("1,000-character comm", (b, _) => b.samples[0].comm = Long(1000)),
            ("batch dated 2001", (b, _) => b.timestampNs = Y2001),
            ("batch an hour ahead", (b, _) => b.timestampNs = NowNs() + Hour),
            ("2,000 counters", (b, _) => (b.counters, b.samples[0].values) = ([.. Enumerable.Range(0, 2000).Select(i => $"c{i}")], [.. Enumerable.Repeat<long?>(1, 2000)])),
            ("zero interval", (b, _) => b.samples[0].intervalNs = 0),
            ("negative count", (b, _) => b.samples[0].values[0] = -5),
            ("1,000-character datacenter", (b, _) => b.datacenter = Long(1000)),
        ], 135, _ => key);
        set.Absurd(batch, [("300 KB comm", (b, _) => b.samples[0].comm = Long(300_000))], 2, _ => key);
        set.Absurd(batch, [("oversized, decodable (1 MB comm)", (b, _) => b.samples[0].comm = Long(1_000_000))], 1, _ => key);
        var single = new CounterSample
        {
            host = s.Host, entity = new EntityRef { datacenter = "local", host = s.Host, pid = s.Benign.entity.pid, startTime = s.Benign.entity.startTime },
            values = new Dictionary<string, long> { ["context-switches"] = 10 }, intervalNs = 500_000_000, timestampNs = NowNs(), seq = 1,
        };
        set.Absurd(single, [
            ("single sample, pid 0", (x, _) => x.entity.pid = 0),
            ("single sample, 1,000-character comm", (x, _) => x.entity.comm = Long(1000)),
            ("single sample, 2,000-entry values", (x, _) => x.values = Enumerable.Range(0, 2000).ToDictionary(i => $"c{i}", _ => 1L)),
            ("single sample dated 2001", (x, _) => x.timestampNs = Y2001),
            ("single sample an hour ahead", (x, _) => x.timestampNs = NowNs() + Hour),
        ], 15, _ => key);
        // The first finding: pid 1 "storms".
        set.Forged("pid 1 storms", _ => Storm(batch, 1), _ => key, batch);
        set.Replays(genuine, 50);
        return set.Records;
    }

    private static SampleBatch Storm(SampleBatch template, int pid)
    {
        var b = Copy(template);
        (b.samples[0].pid, b.samples[0].startTime, b.samples[0].comm, b.samples[0].values[0], b.timestampNs) = (pid, null, "init", 1_000_000_000, NowNs());
        return b;
    }

    public static List<Hostile> Inventory(Random random, string topic, HostileScene s)
    {
        var set = new HostileRecords(random, topic, Seals.Kinds.Inventory, s.Keys.Probe, s.Foreign.Probe);
        var benign = s.Benign;
        set.Junk(new SingleObjectCodec<EntityState>().Encode(benign), set.RandomKey);
        set.Absurd(benign, [
            ("pid 0", (e, _) => e.entity.pid = 0),
            ("pid above pid_max", (e, _) => e.entity.pid = 5_000_000),
            ("1,000-character comm", (e, _) => e.entity.comm = Long(1000)),
            ("2,000 attributes", (e, _) => e.attributes = Enumerable.Range(0, 2000).ToDictionary(i => $"a{i}", _ => "v")),
            ("updated an hour ahead", (e, _) => e.updatedAtNs = NowNs() + Hour),
            ("1,000-character entity id", (e, _) => e.entityId = Long(1000)),
            ("a process of another host", (e, i) => (e.entity.host, e.entityId) = ("other", $"local/other/pid/{1000 + i}")),
            ("actuator 'ghost' sealed by the probe key", (e, _) => Ghost(e)),
        ], 150, e => e.entityId);
        set.Absurd(benign, [("oversized, decodable (1 MB comm)", (e, _) => e.entity.comm = Long(1_000_000))], 1, e => e.entityId);
        // A forged actuator, forged exits of the canary (which would free its slot), forged processes.
        set.Forged("actuator 'ghost', exits of the canary, new processes", i => (i % 3) switch
        {
            0 => Ghost(Copy(benign)),
            1 => null,
            _ => Process(benign, 3_000_000 + i),
        }, i => (i % 3) switch { 0 => $"local/{s.Host}/actuator/ghost", 1 => s.CanaryEntity, _ => $"local/{s.Host}/pid/{3_000_000 + i}" }, benign);
        set.Replays(s.GenuineByKind[Seals.Kinds.Inventory], 50);
        return set.Records;
    }

    private static EntityState Ghost(EntityState e)
    {
        (e.kind, e.entityId, e.isolationPool, e.levels) = ("actuator", $"local/{e.entity.host}/actuator/ghost", "0-1", [Levels.Core]);
        (e.entity.pid, e.entity.startTime, e.entity.comm) = (null, null, null);
        e.attributes = new Dictionary<string, string> { ["actuatorId"] = "ghost", ["cpuset"] = "v1" };
        return e;
    }

    private static EntityState Process(EntityState template, int pid)
    {
        var e = Copy(template);
        (e.entity.pid, e.entityId, e.attributes["group"]) = (pid, $"local/{e.entity.host}/pid/{pid}", $"pgid:{pid}");
        return e;
    }

    public static List<Hostile> Detections(Random random, string topic, HostileScene s)
    {
        var set = new HostileRecords(random, topic, Seals.Kinds.Detections, s.Keys.Detector, s.Foreign.Detector);
        var genuine = s.GenuineByKind[Seals.Kinds.Detections];
        var canary = Decode<Detection>(genuine[0]);
        set.Junk(new SingleObjectCodec<Detection>().Encode(canary), set.RandomKey);
        set.Absurd(canary, [
            ("pid 1", (d, i) => Retarget(d, i, 1, null)),
            ("pid 0", (d, i) => Retarget(d, i, 0, null)),
            ("stale: 10 min old, beyond the TTL", (d, i) => (d.detectionId, d.detectedAtNs, d.firstSampleAtNs) = ($"stale-{i}", NowNs() - 10 * Minute, NowNs() - 11 * Minute)),
            ("dated 2001", (d, i) => (d.detectionId, d.detectedAtNs, d.firstSampleAtNs) = ($"y2001-{i}", Y2001, Y2001)),
            ("an hour ahead", (d, i) => (d.detectionId, d.detectedAtNs) = ($"ahead-{i}", NowNs() + Hour)),
            ("1,000-character rule", (d, i) => (d.detectionId, d.rule) = ($"rule-{i}", Long(1000))),
            ("rate NaN", (d, i) => (d.detectionId, d.rate) = ($"nan-{i}", double.NaN)),
            ("1,000-character detection id", (d, _) => d.detectionId = Long(1000)),
        ], 130, KeyOf);
        set.Absurd(canary, [("oversized, decodable (1 MB rule)", (d, _) => (d.detectionId, d.rule) = ("oversized", Long(1_000_000)))], 1, KeyOf);
        // A compromised detector naming processes that do not exist: accepted, they wait for an inventory record that never comes.
        for (var i = 0; i < 20; i++)
        {
            var d = Copy(canary);
            Retarget(d, i, 4_000_000 + i, null);
            d.detectedAtNs = NowNs();
            set.Add("sealed: a process outside the inventory", KeyOf(d), new SingleObjectCodec<Detection>().Encode(d), Expect.Accepted, s.Keys.Detector);
        }
        set.Forged("the benign process storms", i =>
        {
            var d = Copy(canary);
            Retarget(d, i, s.Benign.entity.pid!.Value, s.Benign.entity.startTime);
            d.detectedAtNs = NowNs();
            return d;
        }, _ => s.Benign.entityId, canary);
        set.Replays(genuine, 50);
        return set.Records;
    }

    // The entity id as a key, also for pids EntityIds refuses.
    private static string KeyOf(Detection d) => $"{d.entity.datacenter}/{d.entity.host}/pid/{d.entity.pid}";

    private static void Retarget(Detection d, int i, int pid, long? startTime) =>
        (d.detectionId, d.entity.pid, d.entity.startTime, d.entity.comm) = ($"hostile-{pid}-{i}", pid, startTime, null);

    public static List<Hostile> Results(Random random, string topic, HostileScene s)
    {
        var set = new HostileRecords(random, topic, Seals.Kinds.Results, s.Keys.Actuator, s.Foreign.Actuator);
        var genuine = s.GenuineByKind[Seals.Kinds.Results];
        var canary = Decode<IsolationResult>(genuine[0]);
        set.Junk(new SingleObjectCodec<IsolationResult>().Encode(canary), set.RandomKey);
        set.Absurd(canary, [
            ("1,000-character status", (r, _) => r.status = Long(1000)),
            ("20,000-character error", (r, _) => r.error = Long(20_000)),
            ("2,000 phases", (r, _) => r.phases = Enumerable.Range(0, 2000).ToDictionary(i => $"p{i}", _ => 1L)),
            ("negative phase", (r, _) => r.phases["move"] = -1),
            ("finished in 2001", (r, _) => r.finishedAtNs = Y2001),
            ("finished an hour ahead", (r, _) => r.finishedAtNs = NowNs() + Hour),
            ("1,000-character command id", (r, _) => r.commandId = Long(1000)),
            ("1,000-character actuator", (r, _) => r.actuator = Long(1000)),
        ], 130, r => r.commandId);
        set.Absurd(canary, [("oversized, decodable (1 MB error)", (r, _) => r.error = Long(1_000_000))], 1, r => r.commandId);
        for (var i = 0; i < 20; i++)
        {
            var r = Copy(canary);
            (r.commandId, r.status) = ($"c-unknown-{i}", ResultStatus.Failed);
            set.Add("sealed: a result for no outstanding command", r.commandId, new SingleObjectCodec<IsolationResult>().Encode(r), Expect.Accepted, s.Keys.Actuator);
        }
        // A forged failure of the canary's own move would free its slot.
        set.Forged("the canary's move failed", i =>
        {
            var r = Copy(canary);
            (r.status, r.error) = (i % 2 == 0 ? ResultStatus.Failed : ResultStatus.Rejected, "forged");
            return r;
        }, _ => canary.commandId, canary);
        set.Replays(genuine, 50);
        return set.Records;
    }
}
