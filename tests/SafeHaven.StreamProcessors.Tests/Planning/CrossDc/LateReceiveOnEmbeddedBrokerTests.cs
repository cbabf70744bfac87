using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using SafeHaven.Core;
using SafeHaven.Core.CrossDc;
using SafeHaven.Core.Placement;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Embedded;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Telemetry;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using SafeHaven.Security;
using SafeHaven.StreamProcessors.Planning;
using SafeHaven.StreamProcessors.Planning.CrossDc;

namespace SafeHaven.StreamProcessors.Tests.Planning.CrossDc;

/// <summary>
/// dc2's planner (the target of dc1's move) on its embedded broker, with sealed results (docs/LEDGER.md, "Late receives"):
/// a booking made by <see cref="LedgerSlots"/> expires unanswered and is given back; the receive's sealed success arriving
/// afterwards holds the host again, also across a planner restart in between; forged, unsealed, mismatched, unknown and
/// replayed answers change nothing and are counted; on a host dc2 gave to its own workload meanwhile, the late success is a
/// conflict (ledger record, SIEM result, nobody evicted) until that workload leaves.
/// </summary>
public sealed class LateReceiveOnEmbeddedBrokerTests : IDisposable
{
    // Every wait crosses the broker and may take ten times longer under a loaded CI: far above the ≈2 s each takes idle.
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private static readonly EntityRef Vm = new() { datacenter = "dc1", host = "h1", vm = "v1" };
    private const string Slot = "dc2/hv9#host";
    private const string Arrived = "dc2/hv9/vm/v1";

    private readonly EmbeddedBroker _broker = EmbeddedBroker.Start();
    private readonly TopicNames _topics;
    private readonly RecordSigner _planner = RecordSigner.Ephemeral(KeyRoles.Planner, KeyRoles.Planner);
    private readonly RecordSigner _hv9 = RecordSigner.Ephemeral(KeyRoles.Actuator, "hv9-agent");
    private readonly RecordSigner _h7 = RecordSigner.Ephemeral(KeyRoles.Actuator, "h7-agent");
    private readonly RecordSigner _dc1Agent = RecordSigner.Ephemeral(KeyRoles.Actuator, "h1-agent"); // dc1's: not trusted here
    private readonly KafkaClients _kafka;
    private readonly CommandSigner _signer = CommandSigner.Ephemeral(out _);
    private readonly IProducer<string, byte[]> _producer;
    private readonly IConsumer<string, byte[]> _reader;
    private readonly List<ConsumeResult<string, byte[]>> _seen = [];
    private readonly Lines _log = new();
    private readonly MeterListener _meter = new();
    private readonly ConcurrentQueue<string> _outcomes = new();
    private readonly string _group = "planner-" + Guid.NewGuid().ToString("N");
    private readonly SingleObjectCodec<SlotRecord> _slots = new();
    private readonly SingleObjectCodec<IsolationResult> _results = new();

    public LateReceiveOnEmbeddedBrokerTests()
    {
        var prefix = "late" + Guid.NewGuid().ToString("N") + ".";
        _topics = new TopicNames(prefix);
        new MockTopicProvisioner(_broker).EnsureAsync(_topics.All(1), CancellationToken.None).GetAwaiter().GetResult();
        _kafka = new KafkaClients(new KafkaOptions { BootstrapServers = _broker.BootstrapServers, TopicPrefix = prefix, Partitions = 1, Cluster = "dc2-kafka" })
        {
            Seals = new RoleSeals { Planner = _planner, Verifier = RecordVerifier.Trusting(_planner, _hv9, _h7) },
        };
        _producer = new ProducerBuilder<string, byte[]>(_kafka.Producer("test")).Build();
        _reader = new ConsumerBuilder<string, byte[]>(_kafka.Consumer("reader-" + Guid.NewGuid().ToString("N"), "reader")).Build();
        _reader.Assign(new[] { _topics.Placements, _topics.Dlq, _topics.Results, _topics.Commands }.Select(t => new TopicPartitionOffset(t, 0, Offset.Beginning)));
        _meter.InstrumentPublished = (i, l) =>
        {
            if (i.Name == SafeHavenMetrics.PlannerLateReceives)
            {
                l.EnableMeasurementEvents(i);
            }
        };
        _meter.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (var t in tags)
            {
                if (t.Key == "outcome")
                {
                    _outcomes.Enqueue((string)t.Value!);
                }
            }
        });
        _meter.Start();
    }

    [Fact]
    public async Task A_sealed_late_success_holds_the_host_again_after_expiry_and_a_planner_restart_and_forgeries_change_nothing()
    {
        await PublishActuatorsAsync();
        var receive = await BookAsync("h1:1:r1", epoch: 3);
        var first = await StartPlannerAsync("p2a");
        // The lease and the grace pass with no result: the booking is remembered, then the host given back.
        Until(r => IsLedger(r, PlacementBook.ReceivePrefix + receive, LedgerEvents.Expire));
        Until(r => IsLedger(r, Slot, LedgerEvents.Free));
        // The active planner dies (its term ends); a successor rebuilds the ledger from the topic, the remembered booking too.
        await first.StopAsync(CancellationToken.None);
        first.Dispose();
        using var second = await StartPlannerAsync("p2b");

        // Hostile answers first, each keyed by the receive's id unless said.
        await ResultAsync(Late(receive), _h7);                                           // another dc2 agent's seal
        await ResultAsync(Late(receive), _dc1Agent);                                     // dc1's agent, not trusted here
        await ResultAsync(Late(receive), null);                                          // unsealed
        await ResultAsync(Late(receive, actuator: "h1-agent"), _hv9);                    // names dc1's agent
        await ResultAsync(Late(receive, entity: new EntityRef { datacenter = "dc1", host = "h1", vm = "v9" }), _hv9); // another entity
        var never = CrossDcPolicy.ReceiveId("h1:9:r1", Levels.Vm, 3);
        await ResultAsync(Late(never), _hv9);                                            // a receive never booked here
        // Then the genuine one, sealed by hv9's agent, and its replay.
        await ResultAsync(Late(receive), _hv9);
        var hold = Until(r => IsLedger(r, Slot, LedgerEvents.Hold));
        await ResultAsync(Late(receive), _hv9);
        await Poll.Require(() => _outcomes.Contains(LateReceiveOutcomes.RefusedDuplicate), "the replay counted", seconds: (int)Deadline.TotalSeconds);

        var held = Assert.Single(_slots.Decode(hold.Message.Value).members);
        Assert.Equal((Arrived, MemberStatus.Held, receive), (held.entityId, held.status, held.commandId));
        Assert.Contains("late result of receive", _slots.Decode(hold.Message.Value).reason, StringComparison.Ordinal);
        // The forgeries were refused: five dead letters (two by the seal check before the planner, three by the late-receive
        // rule), each naming why; the unknown receive and the replay counted and logged. Counted exactly: no other test of
        // this assembly records this instrument.
        // The dead letters are on another topic than the hold, so the reader may meet the hold first (seen once in CI: four
        // of five read): read on until five are in, then check that no sixth follows.
        Until(_ => _seen.Count(r => r.Topic == _topics.Dlq) >= 5);
        Drain();
        var dead = string.Join("\n", _seen.Where(r => r.Topic == _topics.Dlq).Select(r => new SingleObjectCodec<DeadLetter>().Decode(r.Message.Value).reason));
        Assert.True(_seen.Count(r => r.Topic == _topics.Dlq) == 5, dead + "\n--- log:\n" + string.Join("\n", _log.All));
        Assert.Contains("late result for receive " + receive + " sealed by actuator 'h7-agent', not by its own actuator 'hv9-agent'", dead, StringComparison.Ordinal);
        Assert.Contains("names actuator 'h1-agent'", dead, StringComparison.Ordinal);
        Assert.Contains("names entity dc1/h1/vm/v9", dead, StringComparison.Ordinal);
        Assert.Contains(_log.All, l => l.Contains("late receive refused-unknown", StringComparison.Ordinal) && l.Contains(never, StringComparison.Ordinal));
        Assert.Contains(_log.All, l => l.Contains("late receive refused-duplicate", StringComparison.Ordinal));
        Assert.Equal((1, 2, 1, 1), (_outcomes.Count(o => o == LateReceiveOutcomes.RefusedSealer), _outcomes.Count(o => o == LateReceiveOutcomes.RefusedMismatch),
            _outcomes.Count(o => o == LateReceiveOutcomes.RefusedUnknown), _outcomes.Count(o => o == LateReceiveOutcomes.Held)));
        // Exactly one hold: none of the refused answers, nor the replay (handled: counted above), wrote a record for the host.
        Drain();
        Assert.Single(_seen, r => IsLedger(r, Slot, LedgerEvents.Hold));
        await second.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_late_success_on_a_host_dc2_gave_its_own_workload_is_a_conflict_until_that_workload_leaves()
    {
        await PublishActuatorsAsync();
        var receive = await BookAsync("h1:1:r1", epoch: 4);
        using var planner = await StartPlannerAsync("p2");
        Until(r => IsLedger(r, Slot, LedgerEvents.Free));
        // dc2's own VM on h7 is detected: hv9, free again, is the only other hypervisor.
        await _producer.ProduceAsync(_topics.Detections, new Message<string, byte[]>
        {
            Key = "dc2/h7/vm/v2", Value = new SingleObjectCodec<Schemas.Detection>().Encode(new Schemas.Detection
            {
                detectionId = "h7:1:r1", entity = new EntityRef { datacenter = "dc2", host = "h7", vm = "v2" }, rule = "r1", counter = "context-switches",
                rate = 5000, threshold = 1000, scope = Scopes.Machine, detectedAtNs = PlannerRecords.NowNs(), firstSampleAtNs = PlannerRecords.NowNs() - 1_000_000_000,
            }),
        });
        var command = new SingleObjectCodec<IsolationCommand>().Decode(Until(r => r.Topic == _topics.Commands && r.Message.Key == "h7-agent").Message.Value);
        Assert.Equal("hv9-agent", command.target);

        await ResultAsync(Late(receive), _hv9);

        var conflict = _slots.Decode(Until(r => IsLedger(r, PlacementBook.ReceivePrefix + receive, LedgerEvents.Conflict)).Message.Value);
        Assert.Contains("nobody is evicted", conflict.reason, StringComparison.Ordinal);
        var notice = Until(r => r.Topic == _topics.Results && r.Message.Key == receive + Planner.ConflictSuffix);
        Assert.Equal(ResultStatus.Failed, _results.Decode(notice.Message.Value).status);
        // Sealed by the planner, as its skipped outcomes are: a SIEM (or anyone) can check who said it.
        Assert.Equal(KeyRoles.Planner, Seals.Require(RecordVerifier.Trusting(_planner), Seals.Kinds.Results, notice.Message).Role);
        Assert.Contains(_log.All, l => l.Contains("late receive conflict", StringComparison.Ordinal));
        // dc2's move of v2 was not undone: the host's latest record is still its booking, until its own result.
        Drain();
        var latest = _slots.Decode(_seen.Last(r => r.Topic == _topics.Placements && r.Message.Key == Slot).Message.Value);
        Assert.Equal((LedgerEvents.Reserve, "vm:dc2/h7/v2"), (latest.@event, latest.group));

        // v2's move fails (it never left h7): its group leaves hv9, and the arrived VM holds it.
        await ResultAsync(new IsolationResult
        {
            commandId = command.commandId, entity = command.entity, level = command.level, status = ResultStatus.Failed, error = "no room", actuator = "h7-agent",
            startedAtNs = PlannerRecords.NowNs(), finishedAtNs = PlannerRecords.NowNs(), phases = new Dictionary<string, long>(),
        }, _h7);
        var resolved = _slots.Decode(Until(r => IsLedger(r, Slot, LedgerEvents.Hold)).Message.Value);
        Assert.Equal((Arrived, "vm:dc1/h1/v1"), (Assert.Single(resolved.members).entityId, resolved.group));
        Assert.Contains("conflict resolved", resolved.reason, StringComparison.Ordinal);
        await Poll.Require(() => _outcomes.Contains(LateReceiveOutcomes.Resolved), "the resolution counted", seconds: (int)Deadline.TotalSeconds);
        await planner.StopAsync(CancellationToken.None);
    }

    // The agents' capability records, sealed by their own keys: both hypervisors take VMs.
    private async Task PublishActuatorsAsync()
    {
        var states = new SingleObjectCodec<EntityState>();
        foreach (var (host, key) in new[] { ("hv9", _hv9), ("h7", _h7) })
        {
            var id = host + "-agent";
            var state = new EntityState
            {
                entityId = $"dc2/{host}/actuator/{id}", kind = InventoryKinds.Actuator, entity = new EntityRef { datacenter = "dc2", host = host },
                levels = [Levels.Vm], attributes = new Dictionary<string, string> { ["actuatorId"] = id },
                counterStatus = new Dictionary<string, string>(), updatedAtNs = 1,
            };
            await ProduceAsync(_topics.Inventory, state.entityId, states.Encode(state), key, Seals.Kinds.Inventory);
        }
    }

    // dc1's reservation booked by LedgerSlots as dc2's responder books it, written sealed to dc2's ledger: a 2 s lease.
    private async Task<string> BookAsync(string detection, long epoch)
    {
        var book = new PlacementBook("p2-responder");
        book.Upsert(new ActuatorInfo("hv9-agent", "dc2", "hv9", new HashSet<string>([Levels.Vm], StringComparer.Ordinal), CpuList.Empty));
        var records = new List<SlotRecord>();
        var now = PlannerRecords.NowNs();
        var grant = new LedgerSlots(book, null, TimeProvider.System, records.Add).Reserve(new SlotReservation
        {
            requestId = "r-" + detection, kind = ReservationKinds.Request, entity = Vm, entityId = EntityIds.Of(Vm), detectionId = detection, level = Levels.Vm,
            scope = Scopes.Machine, group = "vm:dc1/h1/v1", datacenter = "dc1", cluster = "dc1-kafka", planner = "p1", leaseEpoch = epoch,
            reason = "no room in dc1", writtenAtNs = now, expiresAtNs = now + 2_000_000_000,
        }, out var why);
        Assert.True(grant is not null, why);
        var record = Assert.Single(records);
        record.cluster = "dc2-kafka";
        await ProduceAsync(_topics.Placements, record.slot, _slots.Encode(record), _planner, Seals.Kinds.Placements);
        return record.members[0].commandId!;
    }

    private async Task<PlannerService> StartPlannerAsync(string instance)
    {
        var service = new PlannerService(_kafka, new PlannerOptions
        {
            GroupId = _group, InstanceId = instance, ExpiryGrace = TimeSpan.FromSeconds(1), CommandTtl = TimeSpan.FromSeconds(60),
        }, _signer, TimeProvider.System, _log);
        await service.StartAsync(CancellationToken.None);
        await Poll.Require(() => service.Active, $"planner {instance} holds the ledger lease", seconds: (int)Deadline.TotalSeconds);
        return service;
    }

    private static IsolationResult Late(string receive, string actuator = "hv9-agent", EntityRef? entity = null) => new()
    {
        commandId = receive, entity = entity ?? Vm, level = Levels.Vm, status = ResultStatus.Succeeded, actuator = actuator,
        startedAtNs = PlannerRecords.NowNs(), finishedAtNs = PlannerRecords.NowNs(), phases = new Dictionary<string, long>(), cluster = "dc2-kafka",
    };

    private Task ResultAsync(IsolationResult result, RecordSigner? seal) =>
        ProduceAsync(_topics.Results, result.commandId, _results.Encode(result), seal, Seals.Kinds.Results);

    private async Task ProduceAsync(string topic, string key, byte[] value, RecordSigner? seal, string kind)
    {
        var message = new Message<string, byte[]> { Key = key, Value = value };
        if (seal is not null)
        {
            message.Headers = Seals.Headers(seal, kind, key, value);
        }
        await _producer.ProduceAsync(topic, message);
    }

    private bool IsLedger(ConsumeResult<string, byte[]> r, string key, string ledgerEvent) =>
        r.Topic == _topics.Placements && r.Message.Key == key && r.Message.Value is not null && _slots.Decode(r.Message.Value).@event == ledgerEvent;

    // The first record read (or already seen) that matches; every record read is kept in _seen.
    private ConsumeResult<string, byte[]> Until(Func<ConsumeResult<string, byte[]>, bool> match)
    {
        if (_seen.FirstOrDefault(match) is { } already)
        {
            return already;
        }
        var until = DateTime.UtcNow + Deadline;
        while (DateTime.UtcNow < until)
        {
            if (_reader.Consume(TimeSpan.FromMilliseconds(200)) is { Message: not null } r)
            {
                _seen.Add(r);
                if (match(r))
                {
                    return r;
                }
            }
        }
        throw new TimeoutException($"not seen within {Deadline}; planner log:\n{string.Join("\n", _log.All)}");
    }

    private void Drain()
    {
        while (_reader.Consume(TimeSpan.FromMilliseconds(500)) is { Message: not null } r)
        {
            _seen.Add(r);
        }
    }

    public void Dispose()
    {
        _meter.Dispose();
        _reader.Close();
        _reader.Dispose();
        _producer.Dispose();
        _signer.Dispose();
        _kafka.Dispose();
        foreach (var k in new[] { _planner, _hv9, _h7, _dc1Agent })
        {
            k.Dispose();
        }
        _broker.Dispose();
    }

    private sealed class Lines : ILogger<PlannerService>
    {
        public ConcurrentQueue<string> All { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            All.Enqueue(formatter(state, exception));
    }
}
