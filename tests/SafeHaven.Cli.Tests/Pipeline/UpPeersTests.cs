using System.Globalization;
using Confluent.Kafka;
using SafeHaven.Cli.Tests.Commands;
using SafeHaven.Core;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;
using SafeHaven.Security;
using SafeHaven.StreamProcessors.Planning.CrossDc;

namespace SafeHaven.Cli.Tests.Pipeline;

/// <summary>
/// <c>up</c> with a peer datacenter (docs/SCALING.md §4), given the stable planner key the peer trusts (--signing-key): its
/// planner follows the action leases of the peer's cluster under the peer's own topic prefix, and answers a reservation
/// request sealed by the peer's planner key with an answer sealed by that --signing-key, which the peer can verify. With
/// the process's own planner key (what up used before) the peer could believe no answer.
/// </summary>
[Collection(PoolCpuTests.Name)]
public sealed class UpPeersTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private readonly Workloads _w = new();

    [SkippableFact]
    public async Task Up_with_a_signing_key_follows_its_peer_and_answers_it_under_that_key()
    {
        Skip.IfNot(Environment.UserName == "root", "up's host actuator makes cpusets: needs root");
        Skip.IfNot(Directory.Exists("/sys/fs/cgroup/cpuset"), "no cgroup v1 cpuset hierarchy on this host");
        Skip.If(Environment.ProcessorCount < 2, "up's isolation pool needs a CPU besides the shared ones");
        var dir = _w.Dir;
        var (keys1, keys2) = (dir.CreateSubdirectory("dc1-keys").FullName, dir.CreateSubdirectory("dc2-keys").FullName);
        SigningKeys.Generate(keys1);
        SigningKeys.Generate(keys2);
        var rules = Path.Join(dir.FullName, "rules.yaml");
        await File.WriteAllTextAsync(rules, "rules:\n  - name: storm\n    counter: context-switches\n    threshold: 1000000\n    scope: core\n");
        var prefix2 = $"dc2x{Guid.NewGuid().ToString("N")[..8]}.";
        var broker2 = RoleProcess.Start(_w, ["broker", "--topic-prefix", prefix2, "--partitions", "1"]);
        var b2 = Bootstrap(await broker2.FirstStdoutLine.WaitAsync(Patience));
        var sleeper = _w.Setsid("sleep", "300");

        // up (its own embedded broker) with dc2 as its peer, dc2's topics under their own prefix
        var up = RoleProcess.Start(_w,
        [
            "up", "--signing-key", keys1, "--datacenter", "dc1", "--peer", $"dc2={b2}", "--peer-keys", $"dc2={keys2}", "--peer-prefix", $"dc2={prefix2}",
            "--rules", rules, "--dry-run", "--isolation-cpus", (Environment.ProcessorCount - 1).ToString(CultureInfo.InvariantCulture), "--cgroup", _w.Cgroup,
            "--state-dir", dir.CreateSubdirectory("state").FullName, "--period", "500ms", "--duration", "4m", "--pid", sleeper.Id.ToString(CultureInfo.InvariantCulture),
        ]);
        var b1 = Bootstrap(await up.FirstStdoutLine.WaitAsync(Patience));
        await up.LineAsync("planner of dc1: cross-datacenter moves to and from dc2", Patience);

        // Its follower reads dc2's cluster under dc2's prefix: a lease there sealed by a key nobody trusts is refused.
        using var forger = RecordSigner.Ephemeral(KeyRoles.Planner, KeyRoles.Planner);
        using var c2 = new KafkaClients(new KafkaOptions { BootstrapServers = b2, TopicPrefix = prefix2, Partitions = 1 });
        await Produce(c2, c2.Topics.ActionLeases, "dc1/h1/vm/v1", [1, 2, 3], forger);
        await up.LineAsync("action leases of dc2: record at offset 0 refused", Patience);

        // dc2's planner asks dc1 for a slot (no lease in dc1's cluster: refused); the answer is sealed by up's --signing-key.
        using var dc2Planner = SigningKeys.LoadRecordSigner(keys2, KeyRoles.Planner);
        using var c1 = new KafkaClients(new KafkaOptions { BootstrapServers = b1 });
        var entity = new EntityRef { datacenter = "dc2", host = "h9", vm = "v1" };
        var now = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;
        var request = new SlotReservation
        {
            requestId = "r-" + Guid.NewGuid().ToString("N"), kind = ReservationKinds.Request, entity = entity, entityId = EntityIds.Of(entity), detectionId = "d-1",
            level = Levels.Vm, scope = Scopes.Machine, datacenter = "dc2", cluster = "dc2", planner = "p2", leaseEpoch = 1, reason = "test",
            writtenAtNs = now, expiresAtNs = now + 60_000_000_000,
        };
        await Produce(c1, c1.Topics.Reservations, request.entityId, new SingleObjectCodec<SlotReservation>().Encode(request), dc2Planner);
        var trusted = SigningKeys.LoadRecordVerifier(keys1);
        var answer = await Poll.For(() => Answers(c1, trusted).FirstOrDefault(a => a.requestId == request.requestId), Patience,
            () => "no answer sealed by up's --signing-key; up's stderr:\n" + up.Stderr);
        Assert.Equal((ReservationKinds.Refused, "dc1"), (answer.kind, answer.datacenter));
        Assert.Contains("holds no live action lease", answer.reason, StringComparison.Ordinal);
    }

    private static string Bootstrap(string line)
    {
        Assert.StartsWith("bootstrap: ", line, StringComparison.Ordinal);
        return line["bootstrap: ".Length..];
    }

    private static async Task Produce(KafkaClients clients, string topic, string key, byte[] value, RecordSigner seal)
    {
        using var producer = new ProducerBuilder<string, byte[]>(clients.Producer("test-" + Guid.NewGuid().ToString("N"))).Build();
        await producer.ProduceAsync(new TopicPartition(topic, 0), new Message<string, byte[]> { Key = key, Value = value, Headers = Seals.Headers(seal, SealKind(topic, clients), key, value) });
    }

    private static string SealKind(string topic, KafkaClients clients) => topic == clients.Topics.ActionLeases ? Seals.Kinds.ActionLeases : Seals.Kinds.Reservations;

    // The reservation records of up's cluster sealed by a key of trusted, decoded (a fresh read each poll).
    private static List<SlotReservation> Answers(KafkaClients clients, RecordVerifier trusted)
    {
        var config = clients.Consumer("test-" + Guid.NewGuid().ToString("N"), "test");
        config.EnableAutoCommit = false;
        config.EnablePartitionEof = true;
        using var consumer = new ConsumerBuilder<string, byte[]>(config).Build();
        consumer.Assign(new TopicPartitionOffset(clients.Topics.Reservations, 0, Offset.Beginning));
        var found = new List<SlotReservation>();
        var until = DateTime.UtcNow.AddSeconds(10);
        // To the partition's end: a fresh consumer's first record (offset lookup, first fetch) may take longer than any
        // one Consume under load, so an empty Consume is no end (seen once in CI: every read ended before its first record).
        while (DateTime.UtcNow < until)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(500)) is not { } r)
            {
                continue;
            }
            if (r.IsPartitionEOF)
            {
                break;
            }
            try
            {
                Seals.Require(trusted, Seals.Kinds.Reservations, r.Message);
                found.Add(new SingleObjectCodec<SlotReservation>().Decode(r.Message.Value));
            }
            catch (RecordRejectedException)
            {
                // the request (dc2's key) and anything not sealed by up's planner key
            }
        }
        consumer.Close();
        return found;
    }

    public void Dispose() => _w.Dispose();
}
