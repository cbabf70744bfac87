using Microsoft.Extensions.Time.Testing;
using SafeHaven.Core;
using SafeHaven.Core.CrossDc;
using SafeHaven.Core.Placement;
using SafeHaven.Schemas;
using SafeHaven.StreamProcessors.Planning.CrossDc;

namespace SafeHaven.StreamProcessors.Tests.Planning.CrossDc;

/// <summary>
/// A retried move out asks the target for a slot while the target still books the entity under the earlier attempt's
/// receive. Before, the booking threw ("already a member"), the responder logged it and sent no answer, and the source
/// waited out its whole reservation wait; now the request is refused, naming the booking, and every request gets an answer.
/// </summary>
public sealed class ReservationRebookTests
{
    private static readonly EntityRef Vm = new() { datacenter = "dc1", host = "h1", vm = "v1" };

    [Fact]
    public void A_request_for_an_entity_still_booked_here_is_refused_naming_the_booking_and_writes_nothing()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 8, 0, 0, TimeSpan.Zero));
        var book = new PlacementBook("p2");
        foreach (var host in new[] { "hv8", "hv9" })
        {
            book.Upsert(new ActuatorInfo(host + "-agent", "dc2", host, new HashSet<string>([Levels.Vm], StringComparer.Ordinal), CpuList.Empty));
        }
        var persisted = new List<SlotRecord>();
        var slots = new LedgerSlots(book, gate: null, time, persisted.Add);

        Assert.NotNull(slots.Reserve(Request("r-1", "h1:1:r1", epoch: 4), out var first));
        var again = slots.Reserve(Request("r-2", "h1:1:r1", epoch: 5), out var why);

        Assert.Null(again);
        Assert.Single(persisted);
        Assert.Contains(persisted[0].slot, why, StringComparison.Ordinal);
        Assert.Contains(CrossDcPolicy.ReceiveId("h1:1:r1", Levels.Vm, 4), why, StringComparison.Ordinal);
        Assert.Single(book.MembershipsOf(EntityIds.Of(Vm)));
        Assert.Contains("booked", first, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_the_slots_fail_to_book_is_answered_refused_with_the_failure()
    {
        using var dcs = new TwoDatacenters(slots: _ => new FailingSlots());
        var mover = dcs.Mover(dcs.Dc1, dcs.Dc1Link, dcs.Dc1Follows);

        var outcome = await mover.MoveAsync(TwoDatacenters.Move("h1:1:r1"), CancellationToken.None);

        // Without an answer the mover would report "no answer from the planner of dc2" after its wait.
        Assert.Equal(CrossDcStatus.Refused, outcome.Status);
        Assert.Contains("the request could not be booked: ledger write refused", outcome.Reason, StringComparison.Ordinal);
    }

    private static SlotReservation Request(string requestId, string detectionId, long epoch)
    {
        var now = 1_000_000_000L;
        return new SlotReservation
        {
            requestId = requestId, kind = ReservationKinds.Request, entity = Vm, entityId = EntityIds.Of(Vm), detectionId = detectionId,
            level = Levels.Vm, scope = Scopes.Machine, group = "vm:dc1/h1/v1", datacenter = "dc1", cluster = "dc1-kafka", planner = "p1",
            leaseEpoch = epoch, reason = "no room in dc1", writtenAtNs = now, expiresAtNs = now + (long)TimeSpan.FromSeconds(30).TotalNanoseconds,
        };
    }

    private sealed class FailingSlots : ICrossDcSlots
    {
        public CrossDcGrant? Reserve(SlotReservation request, out string reason) =>
            throw new InvalidOperationException("ledger write refused");
    }
}
