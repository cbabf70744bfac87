using SafeHaven.Core;
using SafeHaven.Core.CrossDc;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;
using SafeHaven.StreamProcessors.Planning.CrossDc;

namespace SafeHaven.StreamProcessors.Tests.Planning.CrossDc;

/// <summary>
/// A third datacenter's planner (dc3), trusted on dc2's cluster for its own leases and requests, speaking for another
/// datacenter: an answer, a lease or a request it seals in dc2's or dc1's name changes nothing.
/// </summary>
public sealed class CrossDcImpostorTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Reservation_answers_sealed_by_a_third_datacenters_planner_in_the_targets_name_are_refused_and_the_genuine_one_accepted()
    {
        // dc2's planner is slow to answer: before its genuine grant, dc3 writes a refusal and a grant of a host of its choice, both
        // claiming to be dc2's, for the very request dc1 is waiting on.
        using var dcs = new TwoDatacenters(slots: d => new ForgedFirst(d));
        var mover = dcs.Mover(dcs.Dc1, dcs.Dc1Link, dcs.Dc1Follows);

        var outcome = await mover.MoveAsync(TwoDatacenters.Move("h1:1:r1"), CancellationToken.None);

        // Before the fix dc1 took dc3's refusal for dc2's and gave up ("refused: forged by dc3").
        Assert.True(outcome.Status == CrossDcStatus.Succeeded, $"{outcome.Status}: {outcome.Reason}");
        Assert.Equal(new CrossDcGrant("dc2/hv9#host", "hv9-agent", "hv9"), outcome.Grant);
        Assert.DoesNotContain(dcs.Executed, e => e.Command.target == "evil");
        Assert.Equal(2, mover.Refused.Count);
        Assert.All(mover.Refused, r => Assert.Contains("not a planner key of dc2", r, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_lease_and_a_request_sealed_by_a_third_datacenters_planner_in_the_sources_name_change_nothing()
    {
        using var dcs = new TwoDatacenters();
        const string Entity = "dc1/h1/vm/v1";
        var now = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;
        // dc3 leases dc1's VM on dc2's cluster in dc1's name (its planner id, a valid epoch): before the fix this lease won.
        var forged = new ActionLease
        {
            entityId = Entity, datacenter = "dc1", cluster = "dc1-kafka", planner = "p1", epoch = 1, acquiredAtNs = now,
            expiresAtNs = now + (long)TimeSpan.FromSeconds(30).TotalNanoseconds, reason = "forged by dc3",
        };
        var at = await dcs.Dc2Link.ProduceSealedAsync(dcs.Topics.ActionLeases, Seals.Kinds.ActionLeases, Entity,
            new SingleObjectCodec<ActionLease>().Encode(forged), dcs.Dc3Seal, CancellationToken.None);
        Assert.Equal(LeaseVerdict.Invalid, dcs.Dc2Follows.WaitFor(at, Deadline));
        Assert.Null(dcs.Dc2Follows.Read(b => b.Live(Entity)));
        Assert.Contains(dcs.Dc2Follows.Refused, r => r.Contains("not a planner key of dc1", StringComparison.Ordinal));

        // dc1 takes the lease for real; dc3 then asks for a slot in dc1's name under that very lease: refused, nothing booked.
        var (lease, won) = await dcs.Mover(dcs.Dc1, dcs.Dc1Link, dcs.Dc1Follows).AcquireAsync(Entity, TimeSpan.FromSeconds(30), "genuine", CancellationToken.None);
        Assert.True(won);
        var request = new SlotReservation
        {
            requestId = "r-dc3", kind = ReservationKinds.Request, entity = new EntityRef { datacenter = "dc1", host = "h1", vm = "v1" }, entityId = Entity,
            detectionId = "h1:9:r1", level = Levels.Vm, scope = "machine", datacenter = "dc1", cluster = "dc1-kafka", planner = "p1",
            leaseEpoch = lease.epoch, writtenAtNs = now, expiresAtNs = lease.expiresAtNs, reason = "forged by dc3",
        };
        await dcs.Dc2Link.ProduceSealedAsync(dcs.Topics.Reservations, Seals.Kinds.Reservations, Entity, new SingleObjectCodec<SlotReservation>().Encode(request),
            dcs.Dc3Seal, CancellationToken.None);
        await Poll.Require(() => dcs.Responder.Refused.Any(r => r.Contains("r-dc3", StringComparison.Ordinal)), "dc3's request refused", seconds: 30);
        Assert.Contains("not a planner key of dc1", dcs.Responder.Refused.Single(r => r.Contains("r-dc3", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Empty(dcs.Slots.Booked);
    }

    private sealed class ForgedFirst(TwoDatacenters dcs) : ICrossDcSlots
    {
        private readonly SingleObjectCodec<SlotReservation> _codec = new();

        public CrossDcGrant? Reserve(SlotReservation request, out string reason)
        {
            foreach (var (kind, slot) in new[] { (ReservationKinds.Refused, (string?)null), (ReservationKinds.Granted, "dc2/evil#host") })
            {
                var forged = new SlotReservation
                {
                    requestId = request.requestId, kind = kind, entity = request.entity, entityId = request.entityId, detectionId = request.detectionId,
                    level = request.level, scope = request.scope, group = request.group, datacenter = "dc2", cluster = "dc2-kafka", planner = "p2",
                    leaseEpoch = request.leaseEpoch, slot = slot, actuator = slot is null ? null : "evil-agent", target = slot is null ? null : "evil",
                    reason = "forged by dc3", writtenAtNs = request.writtenAtNs, expiresAtNs = request.expiresAtNs,
                };
                dcs.Dc2Link.ProduceSealedAsync(dcs.Topics.Reservations, Seals.Kinds.Reservations, request.entityId, _codec.Encode(forged), dcs.Dc3Seal,
                    CancellationToken.None).GetAwaiter().GetResult();
            }
            return dcs.Slots.Reserve(request, out reason);
        }
    }
}
