using System.Collections.Concurrent;
using System.Diagnostics;
using Confluent.Kafka;
using SafeHaven.Core;
using SafeHaven.Core.CrossDc;
using SafeHaven.Core.Placement;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;
using SafeHaven.Security;
using SafeHaven.StreamProcessors.Planning.CrossDc;
using Xunit.Abstractions;

namespace SafeHaven.Cli.Tests.Pipeline;

/// <summary>
/// Two datacenters as an operator runs them (docs/SCALING.md §4): two <c>safehaven broker</c> processes (two clusters) and
/// two <c>safehaven plan</c> processes, each with the other as its peer (dc1's by flags, dc2's by its --config file). The
/// two deployments name their topics under different prefixes, each planner told the other's (--peer-prefix, the config's
/// Peers:0:TopicPrefix): with the own prefix the lease, the request and the receive would land in topics nobody in dc2 reads.
/// dc1 has no host left for a hot VM: its planner takes the action lease in dc2's cluster, dc2's planner books a host in
/// its own ledger and grants it, and the signed receive goes to dc2's commands topic, the isolate to dc1's, both under
/// the lease's epoch. The two agents are this test's (a VM move needs libvirt): they check the commands' signatures and
/// answer with results sealed by their own actuator keys, which the planners trust. Everything else is the real
/// processes over the Kafka protocol.
/// </summary>
public sealed class CrossDcPlanTests(ITestOutputHelper output)
{
    private const string EntityId = "dc1/h1/vm/v1";

    [Fact]
    public async Task A_vm_dc1_has_no_room_for_is_booked_in_dc2s_ledger_and_commanded_over_dc2s_cluster_under_the_lease()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var ct = deadline.Token;
        var run = Guid.NewGuid().ToString("N")[..12];
        var (prefix1, prefix2) = ($"xa{run}.", $"xb{run}.");
        var root = Directory.CreateTempSubdirectory("safehaven-xdc-");
        var procs = new List<(string Name, Process Process, ConcurrentQueue<string> Lines)>();
        try
        {
            // Each datacenter: its planner key, and its agent's; its trust directory holds both public halves, and is what
            // the other datacenter is given as --peer-keys.
            var (keys1, keys2, trust1, trust2) = (Sub(root, "dc1-keys"), Sub(root, "dc2-keys"), Sub(root, "dc1-trust"), Sub(root, "dc2-trust"));
            foreach (var (keys, trust, agent) in new[] { (keys1, trust1, "h1-agent"), (keys2, trust2, "hv9-agent") })
            {
                Assert.Equal(0, (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "keys", "generate", "--dir", keys)).ExitCode);
                var agentDir = Sub(root, agent);
                SigningKeys.Generate(agentDir, KeyRoles.Actuator, agent);
                foreach (var f in Directory.GetFiles(keys, "*.pub").Concat(Directory.GetFiles(agentDir, "*.pub")))
                {
                    File.Copy(f, Path.Combine(trust, Path.GetFileName(f)));
                }
            }
            using var agent1 = SigningKeys.LoadRecordSigner(Path.Combine(root.FullName, "h1-agent"), KeyRoles.Actuator);
            using var agent2 = SigningKeys.LoadRecordSigner(Path.Combine(root.FullName, "hv9-agent"), KeyRoles.Actuator);
            var dc1Planner = SigningKeys.LoadVerifier(Directory.GetFiles(keys1, "*.pub").Single());
            var b1 = await Broker("broker-dc1", prefix1, procs, ct);
            var b2 = await Broker("broker-dc2", prefix2, procs, ct);
            var config2 = Path.Combine(root.FullName, "dc2.yaml");
            File.WriteAllText(config2, $"SafeHaven:\n  Planner:\n    Datacenter: dc2\n    Peers:\n      - Datacenter: dc1\n" +
                $"        BootstrapServers: \"{b1}\"\n        TrustedKeys: \"{trust1}\"\n        Cluster: dc1-kafka\n        TopicPrefix: \"{prefix1}\"\n");
            string[] common = ["plan", "--partitions", "1", "--allow-unsealed", "detections"];
            var dc1 = Start("plan-dc1", procs, [.. common, "--topic-prefix", prefix1, "--peer-prefix", $"dc2={prefix2}", "--bootstrap", b1, "--signing-key", keys1, "--trusted-keys", trust1, "--instance", "p1",
                "--cluster", "dc1-kafka", "--datacenter", "dc1", "--peer", $"dc2={b2}", "--peer-keys", $"dc2={trust2}", "--peer-cluster", "dc2=dc2-kafka"]);
            var dc2 = Start("plan-dc2", procs, [.. common, "--topic-prefix", prefix2, "--bootstrap", b2, "--signing-key", keys2, "--trusted-keys", trust2, "--instance", "p2",
                "--cluster", "dc2-kafka", "--config", config2]);

            using var c1 = new KafkaClients(new KafkaOptions { BootstrapServers = b1, TopicPrefix = prefix1, Partitions = 1 });
            using var c2 = new KafkaClients(new KafkaOptions { BootstrapServers = b2, TopicPrefix = prefix2, Partitions = 1 });
            using var p1 = new ProducerBuilder<string, byte[]>(c1.Producer("test-dc1")).Build();
            using var p2 = new ProducerBuilder<string, byte[]>(c2.Producer("test-dc2")).Build();
            // dc1: the suspect's own hypervisor is its only one; dc2: a free hypervisor. Each announced by its agent.
            await p1.ProduceAsync(c1.Topics.Inventory, Sealed(agent1, Seals.Kinds.Inventory, "dc1/h1", Hypervisor("dc1", "h1", "h1-agent")), ct);
            await p2.ProduceAsync(c2.Topics.Inventory, Sealed(agent2, Seals.Kinds.Inventory, "dc2/hv9", Hypervisor("dc2", "hv9", "hv9-agent")), ct);
            await Poll.Require(() => dc1.Any(l => l.Contains("actuator h1-agent on h1", StringComparison.Ordinal))
                && dc2.Any(l => l.Contains("actuator hv9-agent on hv9", StringComparison.Ordinal)), "both planners active with their hypervisors", 90);
            using var dc2Commands = new TopicTail(c2, c2.Topics.Commands);
            using var dc1Commands = new TopicTail(c1, c1.Topics.Commands);
            using var leases = new TopicTail(c2, c2.Topics.ActionLeases);
            using var reservations = new TopicTail(c2, c2.Topics.Reservations);
            using var ledger1 = new TopicTail(c1, c1.Topics.Placements);
            using var ledger2 = new TopicTail(c2, c2.Topics.Placements);
            // dc2's agent answers only once the test has seen dc2's planner refuse a competing move (the lease still live).
            using var refusalSeen = new ManualResetEventSlim();
            using var agents = new CancellationTokenSource();
            var answered = new ConcurrentQueue<string>();
            var agentTasks = new[]
            {
                Agent(c1, "h1-agent", agent1, dc1Planner, null, answered, agents.Token),
                Agent(c2, "hv9-agent", agent2, dc1Planner, refusalSeen, answered, agents.Token),
            };

            var clock = Stopwatch.StartNew();
            await p1.ProduceAsync(c1.Topics.Detections, Encode(EntityId, Hot("h1:1:r1")), ct);

            // The receive, on dc2's cluster, for dc2's agent: signed by dc1's planner key, naming dc1's cluster and the lease.
            var receive = await Poll.For(() => dc2Commands.Decoded<IsolationCommand>().FirstOrDefault(c => c.action == Actions.Receive),
                TimeSpan.FromSeconds(60), () => "the receive command on dc2's cluster\n" + Logs(procs));
            var toReceive = clock.Elapsed;
            var epoch = receive.leaseEpoch ?? 0;
            Assert.True(epoch >= 1, $"lease epoch {epoch}");
            Assert.Equal(("hv9-agent", "hv9-agent", EntityId, "dc1-kafka"), (dc2Commands.KeyOf(receive), receive.target, EntityIds.Of(receive.entity), receive.cluster));
            Assert.Equal(CrossDcPolicy.ReceiveId("h1:1:r1", Levels.Vm, epoch), receive.commandId);
            Assert.Null(dc1Planner.Problem(receive));
            // dc2's planner refuses a competing move of the workload while dc1's lease lives.
            await p2.ProduceAsync(c2.Topics.Detections, Encode(EntityId, Hot("dc2x:1:r1")), ct);
            await Poll.Require(() => dc2.Any(l => l.Contains("action lease of datacenter dc1", StringComparison.Ordinal)), "dc2's planner naming dc1's lease", 30);
            refusalSeen.Set();

            // The isolate, on dc1's own cluster, for the suspect's agent, under the same epoch.
            var isolate = await Poll.For(() => dc1Commands.Decoded<IsolationCommand>().FirstOrDefault(c => c.action == Actions.Isolate),
                TimeSpan.FromSeconds(30), () => "the isolate command on dc1's cluster");
            Assert.Equal((CrossDcPolicy.IsolateId("h1:1:r1", Levels.Vm, epoch), "h1-agent", epoch), (isolate.commandId, dc1Commands.KeyOf(isolate), isolate.leaseEpoch ?? 0));
            Assert.Null(dc1Planner.Problem(isolate));

            // dc2's cluster holds the lease (sealed by dc1's planner), the request and dc2's grant, and dc2's ledger booking.
            var dc1Seals = SigningKeys.LoadRecordVerifier(Directory.GetFiles(keys1, "*.pub").Single());
            var dc2Seals = SigningKeys.LoadRecordVerifier(Directory.GetFiles(keys2, "*.pub").Single());
            var lease = leases.Sealed<ActionLease>(dc1Seals, Seals.Kinds.ActionLeases).First(l => !l.released);
            Assert.Equal((EntityId, "dc1", "dc1-kafka", "p1", epoch), (lease.entityId, lease.datacenter, lease.cluster, lease.planner, lease.epoch));
            var grant = Assert.Single(reservations.Sealed<SlotReservation>(dc2Seals, Seals.Kinds.Reservations), r => r.kind == ReservationKinds.Granted);
            Assert.Equal(("dc2", "dc2-kafka", "p2", "dc2/hv9#host", "hv9-agent", epoch), (grant.datacenter, grant.cluster, grant.planner, grant.slot, grant.actuator, grant.leaseEpoch));
            Assert.Contains(reservations.Sealed<SlotReservation>(dc1Seals, Seals.Kinds.Reservations), r => r.kind == ReservationKinds.Request && r.requestId == grant.requestId);
            var booking = ledger2.Sealed<SlotRecord>(dc2Seals, Seals.Kinds.Placements).First(r => r.slot == "dc2/hv9#host");
            Assert.Equal(("dc2-kafka", receive.commandId, EntityId), (booking.cluster, booking.members[0].commandId, booking.members[0].entityId));

            // Both agents answered: the move succeeded, dc1's detection no longer waits, dc2 holds the slot, the lease is released.
            await Poll.Require(() => dc1.Any(l => l.Contains($"move of {EntityId} out to dc2: succeeded", StringComparison.Ordinal)), "dc1's outcome line\n" + Logs(procs), 60);
            await Poll.Require(() => ledger1.Sealed<SlotRecord>(dc1Seals, Seals.Kinds.Placements)
                .Any(r => r.@event == LedgerEvents.Leave && r.reason?.Contains("moved out to slot dc2/hv9#host", StringComparison.Ordinal) == true), "dc1's leave record", 30);
            await Poll.Require(() => ledger2.Sealed<SlotRecord>(dc2Seals, Seals.Kinds.Placements)
                .Any(r => r.slot == "dc2/hv9#host" && r.@event == LedgerEvents.Hold), "dc2's hold of the slot after the receive result", 30);
            await Poll.Require(() => leases.Sealed<ActionLease>(dc1Seals, Seals.Kinds.ActionLeases).Any(l => l.released && l.epoch == epoch), "the lease's release record", 30);
            // Two commands (the receive and the isolate); a slow run may see an unanswered one re-sent under its own id.
            Assert.Equal(2, answered.Distinct(StringComparer.Ordinal).Count());
            await agents.CancelAsync();
            await Task.WhenAll(agentTasks);
            output.WriteLine($"detection published -> receive on dc2's cluster: {toReceive.TotalMilliseconds:F0} ms (2 cores, shared)");
        }
        finally
        {
            // Planners first, then their brokers (the reverse of their start).
            foreach (var (name, p, lines) in Enumerable.Reverse(procs))
            {
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                }
                p.Dispose();
                output.WriteLine($"--- {name}:\n{string.Join('\n', lines)}");
            }
            root.Delete(recursive: true);
        }
    }

    // A test agent: executes nothing, checks the signature of each command addressed to it, and answers with a result
    // sealed by its actuator key (after <paramref name="hold"/> is set, when given).
    private static Task Agent(KafkaClients clients, string id, RecordSigner seal, CommandVerifier trust, ManualResetEventSlim? hold,
        ConcurrentQueue<string> answered, CancellationToken ct) => ConsumeLoop.OnOwnThread(() =>
    {
        var config = clients.Consumer("agent-" + Guid.NewGuid().ToString("N"), "agent");
        config.EnableAutoCommit = false;
        using var consumer = new ConsumerBuilder<string, byte[]>(config).Build();
        consumer.Assign(new TopicPartitionOffset(clients.Topics.Commands, 0, Offset.Beginning));
        using var producer = new ProducerBuilder<string, byte[]>(clients.Producer("agent-" + id)).Build();
        while (!ct.IsCancellationRequested)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is not { IsPartitionEOF: false, Message.Value: { } value } r || r.Message.Key != id)
            {
                continue;
            }
            var cmd = new SingleObjectCodec<IsolationCommand>().Decode(value);
            if (trust.Problem(cmd) is { } problem)
            {
                throw new InvalidOperationException($"{id}: {cmd.commandId}: {problem}");
            }
            hold?.Wait(ct);
            var result = new IsolationResult
            {
                commandId = cmd.commandId, entity = cmd.entity, level = cmd.level, status = ResultStatus.Succeeded, startedAtNs = NowNs(), finishedAtNs = NowNs(),
                phases = new Dictionary<string, long>(), actuator = id, dryRun = true, cluster = clients.Options.Cluster,
            };
            producer.Produce(clients.Topics.Results, Sealed(seal, Seals.Kinds.Results, cmd.commandId, result));
            producer.Flush(TimeSpan.FromSeconds(10));
            answered.Enqueue(cmd.commandId);
        }
    }, CancellationToken.None);

    private static Message<string, byte[]> Sealed<T>(RecordSigner seal, string kind, string key, T value) where T : class, Avro.Specific.ISpecificRecord, new()
    {
        var message = Encode(key, value);
        message.Headers = Seals.Headers(seal, kind, key, message.Value);
        return message;
    }

    private static string Sub(DirectoryInfo root, string name) => root.CreateSubdirectory(name).FullName;

    private static string Logs(List<(string Name, Process Process, ConcurrentQueue<string> Lines)> procs) =>
        string.Join('\n', procs.Select(p => $"--- {p.Name}:\n{string.Join('\n', p.Lines.TakeLast(30))}"));

    private static async Task<string> Broker(string name, string prefix, List<(string, Process, ConcurrentQueue<string>)> procs, CancellationToken ct)
    {
        var p = Process.Start(CliRunner.StartInfo("broker", "--topic-prefix", prefix, "--partitions", "1"))!;
        var lines = new ConcurrentQueue<string>();
        procs.Add((name, p, lines));
        p.ErrorDataReceived += (_, e) => { if (e.Data is { } l) { lines.Enqueue(l); } };
        p.BeginErrorReadLine();
        var first = await p.StandardOutput.ReadLineAsync(ct) ?? throw new InvalidOperationException($"{name} exited: {string.Join('\n', lines)}");
        Assert.StartsWith("bootstrap: ", first, StringComparison.Ordinal);
        return first["bootstrap: ".Length..];
    }

    private static ConcurrentQueue<string> Start(string name, List<(string, Process, ConcurrentQueue<string>)> procs, string[] args)
    {
        var p = Process.Start(CliRunner.StartInfo(args))!;
        var lines = new ConcurrentQueue<string>();
        p.ErrorDataReceived += (_, e) => { if (e.Data is { } l) { lines.Enqueue(l); } };
        p.BeginErrorReadLine();
        procs.Add((name, p, lines));
        return lines;
    }

    private static Message<string, byte[]> Encode<T>(string key, T value) where T : class, Avro.Specific.ISpecificRecord, new() =>
        new() { Key = key, Value = new SingleObjectCodec<T>().Encode(value) };

    private static EntityState Hypervisor(string dc, string host, string agent) => new()
    {
        entityId = $"{dc}/{host}", kind = InventoryKinds.Actuator, entity = new EntityRef { datacenter = dc, host = host }, levels = [Levels.Vm],
        attributes = new Dictionary<string, string> { [InventoryAttributes.ActuatorId] = agent }, counterStatus = new Dictionary<string, string>(), updatedAtNs = 1,
    };

    private static Detection Hot(string id) => new()
    {
        detectionId = id, entity = new EntityRef { datacenter = "dc1", host = "h1", vm = "v1" }, rule = "r1", counter = "context-switches",
        rate = 5000, threshold = 1000, scope = Scopes.Machine, detectedAtNs = NowNs(), firstSampleAtNs = NowNs() - 1_000_000_000, kind = DetectionKinds.Detected,
    };

    private static long NowNs() => (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;

    /// <summary>Every record of a one-partition topic from its start, read on a thread of its own.</summary>
    private sealed class TopicTail : IDisposable
    {
        private readonly ConcurrentQueue<Message<string, byte[]>> _records = new();
        private readonly IConsumer<string, byte[]> _consumer;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _reader;

        public TopicTail(KafkaClients clients, string topic)
        {
            var config = clients.Consumer("tail-" + Guid.NewGuid().ToString("N"), "tail");
            config.EnableAutoCommit = false;
            _consumer = new ConsumerBuilder<string, byte[]>(config).Build();
            _consumer.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
            _reader = ConsumeLoop.OnOwnThread(() =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    if (_consumer.Consume(TimeSpan.FromMilliseconds(100)) is { IsPartitionEOF: false, Message: { } m })
                    {
                        _records.Enqueue(m);
                    }
                }
            }, CancellationToken.None);
        }

        public List<T> Decoded<T>() where T : class, Avro.Specific.ISpecificRecord, new() =>
            [.. _records.Where(m => m.Value is not null).Select(m => new SingleObjectCodec<T>().Decode(m.Value))];

        /// <summary>The records sealed by a key of <paramref name="verifier"/>, decoded.</summary>
        public List<T> Sealed<T>(RecordVerifier verifier, string kind) where T : class, Avro.Specific.ISpecificRecord, new() =>
            [.. _records.Where(m => m.Value is not null && IsSealed(verifier, kind, m)).Select(m => new SingleObjectCodec<T>().Decode(m.Value))];

        public string? KeyOf(IsolationCommand command) =>
            _records.FirstOrDefault(m => m.Value is not null && new SingleObjectCodec<IsolationCommand>().Decode(m.Value).commandId == command.commandId)?.Key;

        private static bool IsSealed(RecordVerifier verifier, string kind, Message<string, byte[]> m)
        {
            try
            {
                Seals.Require(verifier, kind, m);
                return true;
            }
            catch (RecordRejectedException)
            {
                return false;
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _reader.GetAwaiter().GetResult();
            _consumer.Close();
            _consumer.Dispose();
            _stop.Dispose();
        }
    }
}
