using Confluent.Kafka;
using SafeHaven.Core;
using SafeHaven.Core.CrossDc;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;
using SafeHaven.Security;
using SafeHaven.StreamProcessors.Planning.CrossDc;

namespace SafeHaven.StreamProcessors.Tests.Planning.CrossDc;

/// <summary>
/// The cross-datacenter move protocol (docs/SCALING.md §4) over two embedded brokers: lease, reservation, the two
/// signed commands, release; a conflicting action refused while the lease lives; expiry after the source dies; forged
/// lease and reservation records refused.
/// </summary>
public sealed class CrossDcOnTwoBrokersTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_source_with_no_room_moves_a_hot_entity_into_the_target_datacenter_under_a_lease()
    {
        using var dcs = new TwoDatacenters();
        var mover = dcs.Mover(dcs.Dc1, dcs.Dc1Link, dcs.Dc1Follows);

        var outcome = await mover.MoveAsync(TwoDatacenters.Move("h1:1:r1"), CancellationToken.None);

        Assert.Equal("succeeded", outcome.Status);
        Assert.Equal(new CrossDcGrant("dc2/hv9#host", "hv9-agent", "hv9"), outcome.Grant);
        Assert.Single(dcs.Slots.Booked);
        // The receive ran in dc2's cluster, the isolate in dc1's; both signed by dc1's planner and naming its cluster.
        var ran = dcs.Executed.ToList();
        Assert.Contains(ran, e => e.Dc == "dc2" && e.Command.action == Actions.Receive && e.Command.target == "hv9");
        Assert.Contains(ran, e => e.Dc == "dc1" && e.Command.action == Actions.Isolate && e.Command.source == "h1-agent");
        Assert.All(ran, e => Assert.Equal("dc1-kafka", e.Command.cluster));
        Assert.Equal(("succeeded", "dc2-kafka"), (outcome.Receive!.status, outcome.Receive.cluster));
        // The commands' deadlines fall inside the lease, and the lease is released once the outcome is known.
        Assert.All(ran, e => Assert.True(e.Command.deadlineNs <= outcome.Isolate!.finishedAtNs + (long)TimeSpan.FromSeconds(30).TotalNanoseconds));
        await Poll.Require(() => dcs.Dc2Follows.Read(b => b.Live("dc1/h1/vm/v1")) is null, "the lease tombstone read by dc2");
        Assert.Empty(dcs.Dc2Follows.Refused);
    }

    [Fact]
    public async Task A_conflicting_action_from_the_target_datacenter_is_refused_while_the_lease_is_live()
    {
        using var dcs = new TwoDatacenters();
        var source = dcs.Mover(dcs.Dc1, dcs.Dc1Link, dcs.Dc1Follows);
        var (lease, won) = await source.AcquireAsync("dc1/h1/vm/v1", TimeSpan.FromSeconds(30), "test", CancellationToken.None);
        Assert.True(won);

        // dc2's planner asks before acting: refused, naming the holder.
        await Poll.Require(() => dcs.Dc2Follows.Read(b => b.Refusal("dc1/h1/vm/v1", "dc2")) is not null, "dc2 sees dc1's lease");
        Assert.Contains("datacenter dc1", dcs.Dc2Follows.Read(b => b.Refusal("dc1/h1/vm/v1", "dc2")), StringComparison.Ordinal);
        // dc2 writing a lease of its own anyway loses in the log order every reader folds.
        var target = dcs.Mover(dcs.Dc2, dcs.Dc2Link, dcs.Dc2Follows);
        var (_, dc2Won) = await target.AcquireAsync("dc1/h1/vm/v1", TimeSpan.FromSeconds(30), "conflict", CancellationToken.None);
        Assert.False(dc2Won);
        Assert.True(dcs.Dc1Follows.Read(b => b.Holds("dc1/h1/vm/v1", "dc1", "p1", lease.epoch)));
        // And a whole move from dc2 on the entity sends nothing.
        var refused = await target.MoveAsync(TwoDatacenters.Move("h1:2:r1"), CancellationToken.None);
        Assert.Equal("leased-elsewhere", refused.Status);
        Assert.Empty(dcs.Executed);
    }

    [Fact]
    public async Task The_lease_expires_after_the_source_planner_dies_mid_move()
    {
        using var dcs = new TwoDatacenters(skew: TimeSpan.FromMilliseconds(500));
        var source = dcs.Mover(dcs.Dc1, dcs.Dc1Link, dcs.Dc1Follows);
        // The source takes a 3 s lease and dies: no release record is ever written.
        var (lease, won) = await source.AcquireAsync("dc1/h1/vm/v1", TimeSpan.FromSeconds(3), "dies", CancellationToken.None);
        Assert.True(won);
        await Poll.Require(() => dcs.Dc2Follows.Read(b => b.Refusal("dc1/h1/vm/v1", "dc2")) is not null, "dc2 sees the lease");
        var started = DateTime.UtcNow;
        await Poll.Require(() => dcs.Dc2Follows.Read(b => b.Refusal("dc1/h1/vm/v1", "dc2")) is null, "the lease expires", seconds: 10);
        // dc1's next planner (a standby that took over) takes the lease under a higher epoch.
        var successor = dcs.Mover(dcs.Dc1 with { Planner = "p1b" }, dcs.Dc1Link, dcs.Dc1Follows);
        var (next, nextWon) = await successor.AcquireAsync("dc1/h1/vm/v1", TimeSpan.FromSeconds(30), "after expiry", CancellationToken.None);
        Assert.True(nextWon && next.epoch > lease.epoch, $"the successor took the lease {(DateTime.UtcNow - started).TotalSeconds:F1}s after it saw dc1's");
    }

    [Fact]
    public async Task Forged_and_unsealed_lease_and_reservation_records_are_refused()
    {
        using var dcs = new TwoDatacenters();
        using var stranger = RecordSigner.Ephemeral(KeyRoles.Planner, "planner-dc7");
        using var probe = RecordSigner.Ephemeral(KeyRoles.Probe, "dc2/h5");
        var leases = new SingleObjectCodec<ActionLease>();
        var forged = new ActionLease
        {
            entityId = "dc1/h1/vm/v1", datacenter = "dc7", cluster = "dc7-kafka", planner = "evil", epoch = 99,
            acquiredAtNs = Now(), expiresAtNs = Now() + (long)TimeSpan.FromMinutes(5).TotalNanoseconds, reason = "forged",
        };
        var value = leases.Encode(forged);
        var leaseTopic = dcs.Topics.ActionLeases;
        await Raw(dcs.Dc2Link, leaseTopic, forged.entityId, value, null);                                     // unsealed
        await Raw(dcs.Dc2Link, leaseTopic, forged.entityId, value, Seals.Headers(stranger, Seals.Kinds.ActionLeases, forged.entityId, value)); // untrusted key
        await Raw(dcs.Dc2Link, leaseTopic, forged.entityId, value, Seals.Headers(probe, Seals.Kinds.Inventory, forged.entityId, value)); // a probe key
        var altered = (byte[])value.Clone();
        altered[^1] ^= 1;
        await Raw(dcs.Dc2Link, leaseTopic, forged.entityId, altered, Seals.Headers(dcs.Dc1Seal, Seals.Kinds.ActionLeases, forged.entityId, value)); // altered
        await Poll.Require(() => dcs.Dc2Follows.Refused.Count >= 4, "four forged leases refused");
        Assert.Null(dcs.Dc2Follows.Read(b => b.Live("dc1/h1/vm/v1")));

        // A reservation request unsealed, and one by a trusted planner that holds no lease: both refused, nothing booked.
        var requests = new SingleObjectCodec<SlotReservation>();
        var request = new SlotReservation
        {
            requestId = "r-forged", kind = ReservationKinds.Request, entity = new EntityRef { datacenter = "dc1", host = "h1", vm = "v1" }, detectionId = "h1:9:r1",
            entityId = "dc1/h1/vm/v1", level = Levels.Vm, scope = "machine", datacenter = "dc1", cluster = "dc1-kafka", planner = "p1",
            leaseEpoch = 1, writtenAtNs = Now(), expiresAtNs = Now() + 1, reason = "forged",
        };
        var bytes = requests.Encode(request);
        await Raw(dcs.Dc2Link, dcs.Topics.Reservations, request.entityId, bytes, null);
        request.requestId = "r-no-lease";
        bytes = requests.Encode(request);
        await Raw(dcs.Dc2Link, dcs.Topics.Reservations, request.entityId, bytes, Seals.Headers(dcs.Dc1Seal, Seals.Kinds.Reservations, request.entityId, bytes));
        await Poll.Require(() => dcs.Responder.Refused.Count >= 2, "two reservation requests refused");
        Assert.Contains(dcs.Responder.Refused, r => r.Contains("holds no live action lease", StringComparison.Ordinal));
        Assert.Empty(dcs.Slots.Booked);

        // The genuine move still works beside them.
        var outcome = await dcs.Mover(dcs.Dc1, dcs.Dc1Link, dcs.Dc1Follows).MoveAsync(TwoDatacenters.Move("h1:3:r1"), CancellationToken.None);
        Assert.Equal("succeeded", outcome.Status);
    }

    [Fact]
    public async Task Sealed_but_hostile_lease_records_change_nothing()
    {
        using var dcs = new TwoDatacenters();
        var codec = new SingleObjectCodec<ActionLease>();
        var source = dcs.Mover(dcs.Dc1, dcs.Dc1Link, dcs.Dc1Follows);
        var (lease, won) = await source.AcquireAsync("dc1/h1/vm/v1", TimeSpan.FromSeconds(30), "genuine", CancellationToken.None);
        Assert.True(won);
        ActionLease Variant(Action<ActionLease> change)
        {
            var l = codec.Decode(codec.Encode(lease));
            change(l);
            return l;
        }
        // Each sealed by a trusted planner key (dc2's or dc1's own), each hostile in what it says.
        (string Why, RecordSigner Seal, ActionLease? Record, LeaseVerdict Expected)[] hostile =
        [
            ("dc2 leases dc1's entity", dcs.Dc2Seal, Variant(l => (l.datacenter, l.planner, l.epoch) = ("dc2", "p2", lease.epoch + 1)), LeaseVerdict.Invalid),
            ("a tombstone over the live lease", dcs.Dc2Seal, null, LeaseVerdict.Invalid),
            ("a release by another planner", dcs.Dc2Seal, Variant(l => (l.planner, l.released) = ("p2", true)), LeaseVerdict.Invalid),
            ("a replay of the winning record", dcs.Dc1Seal, lease, LeaseVerdict.Stale),
            ("an epoch near 2^63", dcs.Dc1Seal, Variant(l => (l.planner, l.epoch) = ("p7", long.MaxValue)), LeaseVerdict.Stale),
            ("another dc1 planner during the lease", dcs.Dc1Seal, Variant(l => (l.planner, l.epoch, l.acquiredAtNs) = ("p7", lease.epoch + 1, lease.acquiredAtNs + 1)), LeaseVerdict.Lost),
            ("an hour-long lease", dcs.Dc1Seal, Variant(l => (l.epoch, l.expiresAtNs) = (lease.epoch + 1, l.acquiredAtNs + (long)TimeSpan.FromHours(1).TotalNanoseconds)), LeaseVerdict.Invalid),
        ];
        foreach (var (why, seal, record, expected) in hostile)
        {
            var at = await dcs.Dc2Link.ProduceSealedAsync(dcs.Topics.ActionLeases, Seals.Kinds.ActionLeases, "dc1/h1/vm/v1",
                record is null ? null : codec.Encode(record), seal, CancellationToken.None);
            Assert.True(expected == dcs.Dc2Follows.WaitFor(at, Deadline), why);
        }
        // The genuine holder still holds, dc2 is still refused, and only dc2's release in dc1's name was refused at its seal.
        Assert.True(dcs.Dc2Follows.Read(b => b.Holds("dc1/h1/vm/v1", "dc1", "p1", lease.epoch)));
        Assert.NotNull(dcs.Dc2Follows.Read(b => b.Refusal("dc1/h1/vm/v1", "dc2")));
        Assert.Contains("not a planner key of dc1", Assert.Single(dcs.Dc2Follows.Refused), StringComparison.Ordinal);
    }

    private static long Now() => (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;

    private static Task Raw(CrossDcLink link, string topic, string key, byte[] value, Headers? headers) =>
        link.Producer.ProduceAsync(new TopicPartition(topic, 0), new Message<string, byte[]> { Key = key, Value = value, Headers = headers ?? [] });
}
