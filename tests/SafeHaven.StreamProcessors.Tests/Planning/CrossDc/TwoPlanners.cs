using System.Collections.Concurrent;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using SafeHaven.Core;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Embedded;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using SafeHaven.Security;
using SafeHaven.StreamProcessors.Planning;

namespace SafeHaven.StreamProcessors.Tests.Planning.CrossDc;

/// <summary>
/// Two datacenters as <c>plan</c> runs them, in one process: two embedded brokers, and on each a real
/// <see cref="PlannerService"/> with the other as its peer (keys on disk, as <c>--peer-keys</c> reads them), all on one
/// <see cref="FakeTimeProvider"/> the test moves (so no deadline passes because the machine is slow). The agents are the
/// test's: they check each command's signature and deadline (by the same clock) at admission, as <c>CommandGate</c> does,
/// and answer with results sealed by their actuator keys; the first receive of dc2 can be held after its admission
/// (an agent that ran it in time and answers late, or never).
/// </summary>
internal sealed class TwoPlanners : IDisposable
{
    public const string Vm = "dc1/h1/vm/v1";
    private readonly List<IDisposable> _owned = [];
    private readonly ConcurrentQueue<Task> _agents = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("safehaven-retry-");
    private readonly PlannerService _dc1;
    private readonly PlannerService _dc2;
    private int _held;

    /// <param name="commandTtl">Both planners' command time-to-live.</param>
    /// <param name="grace">dc1's expiry grace (how long its move out watches a timed-out move's results past the deadlines).</param>
    /// <param name="lease">dc1's cross-datacenter lease (5 min when null).</param>
    /// <param name="targetGrace">dc2's expiry grace (how long after the lease its booking of a receive with no result stands); <paramref name="grace"/> when null.</param>
    public TwoPlanners(TimeSpan commandTtl, TimeSpan grace, TimeSpan? lease = null, TimeSpan? targetGrace = null)
    {
        var prefix = "xr" + Guid.NewGuid().ToString("N") + ".";
        Topics = new TopicNames(prefix);
        var (b1, b2) = (Own(EmbeddedBroker.Start()), Own(EmbeddedBroker.Start()));
        foreach (var b in new[] { b1, b2 })
        {
            new MockTopicProvisioner(b).EnsureAsync(Topics.All(1), CancellationToken.None).GetAwaiter().GetResult();
        }
        // Each datacenter's trust directory: its planner's public key and its agents'; the other side's --peer-keys.
        var (trust1, trust2) = (Dir("dc1-trust"), Dir("dc2-trust"));
        var seal1 = Key("dc1-planner", KeyRoles.Planner, null, trust1);
        var seal2 = Key("dc2-planner", KeyRoles.Planner, null, trust2);
        var h1 = Key("h1-agent", KeyRoles.Actuator, "h1-agent", trust1);
        var hv9 = Key("hv9-agent", KeyRoles.Actuator, "hv9-agent", trust2);
        var hv8 = Key("hv8-agent", KeyRoles.Actuator, "hv8-agent", trust2);
        Dc1 = Own(Clients(b1, prefix, "dc1-kafka", seal1, trust1));
        Dc2 = Own(Clients(b2, prefix, "dc2-kafka", seal2, trust2));
        var commands1 = Own(CommandSigner.Ephemeral(out var trustCommands1));
        var commands2 = Own(CommandSigner.Ephemeral(out _));
        Producer1 = Own(new ProducerBuilder<string, byte[]>(Dc1.Producer("test-dc1")).Build());
        Producer2 = Own(new ProducerBuilder<string, byte[]>(Dc2.Producer("test-dc2")).Build());
        Dc2Producer = Own(new ProducerBuilder<string, byte[]>(Dc2.Producer("agent-late")).Build());
        Dc2Commands = Own(new TopicTail(Dc2, Topics.Commands));
        Dc2Reservations = Own(new TopicTail(Dc2, Topics.Reservations));
        Dc2Leases = Own(new TopicTail(Dc2, Topics.ActionLeases));
        Dc1Ledger = Own(new TopicTail(Dc1, Topics.Placements));
        Dc2Ledger = Own(new TopicTail(Dc2, Topics.Placements));
        _agents.Enqueue(Agent(Dc1, "h1-agent", h1, trustCommands1));
        _agents.Enqueue(Agent(Dc2, "hv9-agent", hv9, trustCommands1));
        _agents.Enqueue(Agent(Dc2, "hv8-agent", hv8, trustCommands1));
        _dc1 = new PlannerService(Dc1, Options("dc1", "p1", b2.BootstrapServers, trust2, "dc2", commandTtl, grace, lease), commands1, Time, Log1);
        _dc2 = new PlannerService(Dc2, Options("dc2", "p2", b1.BootstrapServers, trust1, "dc1", commandTtl, targetGrace ?? grace, null), commands2, Time, Log2);
        _dc1.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        _dc2.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
    }

    public FakeTimeProvider Time { get; } = new(DateTimeOffset.UtcNow);
    public TopicNames Topics { get; }
    public KafkaClients Dc1 { get; }
    public KafkaClients Dc2 { get; }
    public IProducer<string, byte[]> Producer1 { get; }
    public IProducer<string, byte[]> Producer2 { get; }
    private IProducer<string, byte[]> Dc2Producer { get; }
    public TopicTail Dc2Commands { get; }
    public TopicTail Dc2Reservations { get; }
    public TopicTail Dc2Leases { get; }
    public TopicTail Dc1Ledger { get; }
    public TopicTail Dc2Ledger { get; }
    public Lines Log1 { get; } = new();
    public Lines Log2 { get; } = new();
    private Dictionary<string, RecordSigner> AgentKeys { get; } = new(StringComparer.Ordinal);

    /// <summary>Hold the first receive a dc2 agent admits, unanswered, until <see cref="Answer"/> is set (or for ever).</summary>
    public bool HoldFirstReceive { get; set; }

    /// <summary>Set: the held receive is answered (succeeded: it was admitted before its deadline).</summary>
    public ManualResetEventSlim Answer { get; } = new();

    /// <summary>The commands each agent admitted (signature and deadline checked), with the clock at admission.</summary>
    public ConcurrentQueue<(string Agent, IsolationCommand Command, long AdmittedAtNs)> Admitted { get; } = new();

    public long NowNs => Time.GetUtcNow().ToUnixNs();

    public Task PublishHypervisorAsync(IProducer<string, byte[]> producer, string dc, string host, string agent) =>
        producer.ProduceAsync(Topics.Inventory, Sealed(AgentKeys[agent], Seals.Kinds.Inventory, $"{dc}/{host}", new EntityState
        {
            entityId = $"{dc}/{host}", kind = InventoryKinds.Actuator, entity = new EntityRef { datacenter = dc, host = host }, levels = [Levels.Vm],
            attributes = new Dictionary<string, string> { [InventoryAttributes.ActuatorId] = agent }, counterStatus = new Dictionary<string, string>(), updatedAtNs = 1,
        }));

    /// <summary>A hot VM on dc1/h1, dated by the test's clock (the planner drops a detection outside its time-to-live).</summary>
    public Task PublishDetectionAsync(string id) => Producer1.ProduceAsync(Topics.Detections, new Message<string, byte[]>
    {
        Key = Vm,
        Value = new SingleObjectCodec<Schemas.Detection>().Encode(new Schemas.Detection
        {
            detectionId = id, entity = new EntityRef { datacenter = "dc1", host = "h1", vm = "v1" }, rule = "r1", counter = "context-switches",
            rate = 5000, threshold = 1000, scope = Scopes.Machine, detectedAtNs = NowNs, firstSampleAtNs = NowNs - 1_000_000_000, kind = DetectionKinds.Detected,
        }),
    });

    public List<IsolationCommand> Receives() => [.. Dc2Commands.Decoded<IsolationCommand>().Where(c => c.action == Actions.Receive)];

    /// <summary>Both planners' logs, for a failure message.</summary>
    public string Describe() => $"--- dc1:\n{string.Join('\n', Log1.All)}\n--- dc2:\n{string.Join('\n', Log2.All)}";

    private static PlannerOptions Options(string dc, string instance, string peerServers, string peerKeys, string peer, TimeSpan commandTtl, TimeSpan grace,
        TimeSpan? lease)
    {
        var options = new PlannerOptions
        {
            GroupId = "planner-" + Guid.NewGuid().ToString("N"), InstanceId = instance, Datacenter = dc, CommandTtl = commandTtl, ExpiryGrace = grace,
            CrossDcLease = lease ?? TimeSpan.FromMinutes(5), DryRun = true,
        };
        options.Peers.Add(new PlannerPeer { Datacenter = peer, BootstrapServers = peerServers, TrustedKeys = peerKeys, Cluster = peer + "-kafka" });
        return options;
    }

    private static KafkaClients Clients(EmbeddedBroker broker, string prefix, string cluster, RecordSigner planner, string trust) =>
        new(new KafkaOptions { BootstrapServers = broker.BootstrapServers, TopicPrefix = prefix, Partitions = 1, Cluster = cluster })
        {
            Seals = new RoleSeals { Planner = planner, Verifier = SigningKeys.LoadRecordVerifier(trust) },
        };

    private string Dir(string name) => _root.CreateSubdirectory(name).FullName;

    private RecordSigner Key(string name, string role, string? subject, string trust)
    {
        var dir = Dir(name);
        var id = SigningKeys.Generate(dir, role, subject);
        File.Copy(Path.Combine(dir, id + ".pub"), Path.Combine(trust, id + ".pub"));
        var signer = Own(SigningKeys.LoadRecordSigner(dir, role));
        if (subject is not null)
        {
            AgentKeys[subject] = signer;
        }
        return signer;
    }

    private T Own<T>(T item) where T : IDisposable
    {
        _owned.Add(item);
        return item;
    }

    private static Message<string, byte[]> Sealed<T>(RecordSigner seal, string kind, string key, T value) where T : class, Avro.Specific.ISpecificRecord, new()
    {
        var bytes = new SingleObjectCodec<T>().Encode(value);
        return new Message<string, byte[]> { Key = key, Value = bytes, Headers = Seals.Headers(seal, kind, key, bytes) };
    }

    // A test agent: admits a command addressed to it if its signature is trusted and its deadline has not passed (by the
    // test's clock), then answers with a sealed result; dc2's first receive may be held after admission.
    private Task Agent(KafkaClients clients, string id, RecordSigner seal, CommandVerifier trust) => ConsumeLoop.OnOwnThread(() =>
    {
        var config = clients.Consumer("agent-" + Guid.NewGuid().ToString("N"), "agent");
        config.EnableAutoCommit = false;
        using var consumer = new ConsumerBuilder<string, byte[]>(config).Build();
        consumer.Assign(new TopicPartitionOffset(clients.Topics.Commands, 0, Offset.Beginning));
        using var producer = new ProducerBuilder<string, byte[]>(clients.Producer("agent-" + id)).Build();
        while (!_stop.IsCancellationRequested)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is not { IsPartitionEOF: false, Message.Value: { } value } r || r.Message.Key != id)
            {
                continue;
            }
            var cmd = new SingleObjectCodec<IsolationCommand>().Decode(value);
            var admittedAt = NowNs;
            var problem = trust.Problem(cmd) ?? (admittedAt > cmd.deadlineNs ? "expired: deadline passed" : null);
            if (problem is null)
            {
                Admitted.Enqueue((id, cmd, admittedAt));
            }
            var result = new IsolationResult
            {
                commandId = cmd.commandId, entity = cmd.entity, level = cmd.level, status = problem is null ? ResultStatus.Succeeded : ResultStatus.Rejected,
                error = problem, startedAtNs = admittedAt, finishedAtNs = admittedAt, phases = new Dictionary<string, long>(), actuator = id, dryRun = true,
                cluster = clients.Options.Cluster,
            };
            if (problem is null && cmd.action == Actions.Receive && HoldFirstReceive && Interlocked.Exchange(ref _held, 1) == 0)
            {
                // Ran in time, answers late (or never): the agent goes on with other commands meanwhile.
                _agents.Enqueue(ConsumeLoop.OnOwnThread(() =>
                {
                    try
                    {
                        Answer.Wait(_stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        return; // never answered
                    }
                    result.finishedAtNs = NowNs;
                    Dc2Producer.Produce(clients.Topics.Results, Sealed(seal, Seals.Kinds.Results, cmd.commandId, result));
                    Dc2Producer.Flush(TimeSpan.FromSeconds(10));
                }, CancellationToken.None));
                continue;
            }
            producer.Produce(clients.Topics.Results, Sealed(seal, Seals.Kinds.Results, cmd.commandId, result));
            producer.Flush(TimeSpan.FromSeconds(10));
        }
    }, CancellationToken.None);

    public void Dispose()
    {
        _dc1.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
        _dc2.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
        _dc1.Dispose();
        _dc2.Dispose();
        _stop.Cancel();
        Task.WhenAll(_agents.ToArray()).GetAwaiter().GetResult();
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }
        _stop.Dispose();
        Answer.Dispose();
        _root.Delete(recursive: true);
    }

    /// <summary>A planner's log lines.</summary>
    internal sealed class Lines : ILogger<PlannerService>
    {
        public ConcurrentQueue<string> All { get; } = new();

        public bool Has(string text) => All.Any(l => l.Contains(text, StringComparison.Ordinal));

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            All.Enqueue(formatter(state, exception));
    }
}
