using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using SafeHaven.Core;
using SafeHaven.Core.CrossDc;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Embedded;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using SafeHaven.Security;
using SafeHaven.StreamProcessors.Planning.CrossDc;

namespace SafeHaven.StreamProcessors.Tests.Planning.CrossDc;

/// <summary>
/// Two datacenters, each with its own embedded broker (two librdkafka mock clusters in one process): dc1's planner
/// (the source) and dc2's planner (the target, answering reservations), and a dry-run agent in each datacenter that
/// checks command signatures with the real <see cref="CommandVerifier"/> and seals its results.
/// </summary>
internal sealed class TwoDatacenters : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<IDisposable> _owned = [];
    private readonly List<Task> _agents = [];

    public TwoDatacenters(TimeSpan? skew = null, Func<TwoDatacenters, ICrossDcSlots>? slots = null)
    {
        Dc1Broker = Own(EmbeddedBroker.Start());
        Dc2Broker = Own(EmbeddedBroker.Start());
        var prefix = "xdc" + Guid.NewGuid().ToString("N") + ".";
        Topics = new TopicNames(prefix);
        foreach (var b in new[] { Dc1Broker, Dc2Broker })
        {
            new MockTopicProvisioner(b).EnsureAsync(Topics.All(1), CancellationToken.None).GetAwaiter().GetResult();
        }
        Dc1Seal = Own(RecordSigner.Ephemeral(KeyRoles.Planner, "planner-dc1"));
        Dc2Seal = Own(RecordSigner.Ephemeral(KeyRoles.Planner, "planner-dc2"));
        // A third datacenter's planner, trusted on both clusters (a peer of both): it may lease and ask, never answer for dc2.
        Dc3Seal = Own(RecordSigner.Ephemeral(KeyRoles.Planner, "planner-dc3"));
        Dc1Agent = Own(RecordSigner.Ephemeral(KeyRoles.Actuator, "h1-agent"));
        Dc2Agent = Own(RecordSigner.Ephemeral(KeyRoles.Actuator, "hv9-agent"));
        var dc1Commands = Own(CommandSigner.Ephemeral(out var trustDc1));
        var dc2Commands = Own(CommandSigner.Ephemeral(out _));
        Dc1 = new PlannerIdentity("dc1", "dc1-kafka", "p1", Dc1Seal, dc1Commands);
        Dc2 = new PlannerIdentity("dc2", "dc2-kafka", "p2", Dc2Seal, dc2Commands);
        // Both clusters trust the three datacenters' planner keys (each for its own datacenter) and their own agents' keys.
        var planners = CrossDcLink.PlannerKeys(("dc1", RecordVerifier.Trusting(Dc1Seal)), ("dc2", RecordVerifier.Trusting(Dc2Seal)),
            ("dc3", RecordVerifier.Trusting(Dc3Seal)));
        Dc1Link = Own(new CrossDcLink("dc1", Options(Dc1Broker, "dc1-kafka"), RecordVerifier.Trusting(Dc1Seal, Dc2Seal, Dc3Seal, Dc1Agent), planners));
        Dc2Link = Own(new CrossDcLink("dc2", Options(Dc2Broker, "dc2-kafka"), RecordVerifier.Trusting(Dc1Seal, Dc2Seal, Dc3Seal, Dc2Agent), planners));
        var book = new ActionLeaseBook(TimeProvider.System) { Skew = skew ?? TimeSpan.FromSeconds(2) };
        // Each planner follows the leases of the target cluster: dc1's mover to take them, dc2's planner to respect them.
        Dc1Follows = Own(new ActionLeaseFollower(Dc2Link, book, NullLogger.Instance));
        Dc2Follows = Own(new ActionLeaseFollower(Dc2Link, new ActionLeaseBook(TimeProvider.System) { Skew = book.Skew }, NullLogger.Instance));
        Responder = Own(new ReservationResponder(Dc2, Dc2Link, Dc2Follows, slots?.Invoke(this) ?? Slots, TimeProvider.System, NullLogger.Instance));
        // dc2's agent trusts dc1's planner command key (enrolled across datacenters); dc1's agent does too.
        _agents.Add(Agent(Dc1Link, "h1-agent", Dc1Agent, trustDc1));
        _agents.Add(Agent(Dc2Link, "hv9-agent", Dc2Agent, trustDc1));
    }

    public EmbeddedBroker Dc1Broker { get; }
    public EmbeddedBroker Dc2Broker { get; }
    public TopicNames Topics { get; }
    public RecordSigner Dc1Seal { get; }
    public RecordSigner Dc2Seal { get; }
    public RecordSigner Dc3Seal { get; }
    public RecordSigner Dc1Agent { get; }
    public RecordSigner Dc2Agent { get; }
    public PlannerIdentity Dc1 { get; }
    public PlannerIdentity Dc2 { get; }
    public CrossDcLink Dc1Link { get; }
    public CrossDcLink Dc2Link { get; }
    public ActionLeaseFollower Dc1Follows { get; }
    public ActionLeaseFollower Dc2Follows { get; }
    public ReservationResponder Responder { get; }
    public OneHostSlots Slots { get; } = new();
    public System.Collections.Concurrent.ConcurrentQueue<(string Dc, IsolationCommand Command)> Executed { get; } = new();

    /// <summary>Called by an agent with each command it executes, before it answers (the move's lease is held then).</summary>
    public Action<string, IsolationCommand>? OnExecute { get; set; }

    public CrossDcMover Mover(PlannerIdentity who, CrossDcLink home, ActionLeaseFollower follows) =>
        new(who, home, Dc2Link, follows, TimeProvider.System, NullLogger.Instance);

    public static CrossDcMove Move(string detection, TimeSpan? lease = null) => new(
        new EntityRef { datacenter = "dc1", host = "h1", vm = "v1" }, "dc1/h1/vm/v1", Levels.Vm, "machine", "vm:dc1/h1/v1", "h1-agent",
        detection, lease ?? TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(15), DryRun: true);

    private KafkaOptions Options(EmbeddedBroker broker, string cluster) =>
        new() { BootstrapServers = broker.BootstrapServers, TopicPrefix = Topics.Prefix, Partitions = 1, Cluster = cluster };

    private T Own<T>(T item) where T : IDisposable
    {
        _owned.Add(item);
        return item;
    }

    // A dry-run agent: answers the signed commands keyed by its id, and dead-letters nothing (the test counts what ran).
    private Task Agent(CrossDcLink link, string id, RecordSigner seal, CommandVerifier trust) => ConsumeLoop.OnOwnThread(() =>
    {
        using var consumer = link.Consumer("agent-" + id);
        consumer.Assign(new TopicPartitionOffset(link.Topics.Commands, 0, Offset.Beginning));
        var (commands, results) = (new SingleObjectCodec<IsolationCommand>(), new SingleObjectCodec<IsolationResult>());
        while (!_stop.IsCancellationRequested)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is not { IsPartitionEOF: false } r || r.Message.Key != id)
            {
                continue;
            }
            var cmd = commands.Decode(r.Message.Value);
            var nowNs = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;
            var problem = trust.Problem(cmd) ?? (nowNs > cmd.deadlineNs ? "past its deadline" : null);
            Executed.Enqueue((link.Datacenter, cmd));
            OnExecute?.Invoke(link.Datacenter, cmd);
            var result = new IsolationResult
            {
                commandId = cmd.commandId, entity = cmd.entity, level = cmd.level, status = problem is null ? ResultStatus.Succeeded : ResultStatus.Rejected,
                error = problem, startedAtNs = nowNs, finishedAtNs = nowNs, phases = new Dictionary<string, long>(), actuator = id, dryRun = true,
                cluster = link.Kafka.Options.Cluster,
            };
            var value = results.Encode(result);
            link.Producer.Produce(link.Topics.Results, new Message<string, byte[]>
            {
                Key = cmd.commandId, Value = value, Headers = Seals.Headers(seal, Seals.Kinds.Results, cmd.commandId, value),
            });
        }
    }, CancellationToken.None);

    public void Dispose()
    {
        _stop.Cancel();
        Task.WhenAll(_agents).GetAwaiter().GetResult();
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }
        _stop.Dispose();
    }
}

/// <summary>The target ledger's stand-in: one VM host slot, held by one group at a time.</summary>
internal sealed class OneHostSlots : ICrossDcSlots
{
    public System.Collections.Concurrent.ConcurrentQueue<string> Booked { get; } = new();

    public CrossDcGrant? Reserve(SlotReservation request, out string reason)
    {
        if (!Booked.IsEmpty)
        {
            reason = "dc2 has no free vm slot";
            return null;
        }
        Booked.Enqueue(request.requestId);
        reason = "booked dc2/hv9#host";
        return new CrossDcGrant("dc2/hv9#host", "hv9-agent", "hv9");
    }
}
