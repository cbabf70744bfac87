using Microsoft.Extensions.Time.Testing;
using SafeHaven.Core;
using SafeHaven.Core.CrossDc;
using SafeHaven.Core.Placement;
using SafeHaven.Schemas;
using SafeHaven.StreamProcessors.Planning.CrossDc;

namespace SafeHaven.StreamProcessors.Tests.Planning.CrossDc;

/// <summary>The target planner's ledger booking another datacenter's move (<see cref="LedgerSlots"/>), then its own expiry.</summary>
public sealed class LedgerSlotsTests
{
    private static readonly EntityRef Vm = new() { datacenter = "dc1", host = "h1", vm = "v1" };

    [Fact]
    public void A_booked_slot_whose_receive_never_answers_is_freed_by_the_planners_expiry_without_a_command()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 8, 0, 0, TimeSpan.Zero));
        var book = new PlacementBook("p2");
        book.Upsert(new ActuatorInfo("hv9-agent", "dc2", "hv9", new HashSet<string>([Levels.Vm], StringComparer.Ordinal), CpuList.Empty));
        var planner = new Planner(book, time, new PlannerSettings(TimeSpan.FromSeconds(15)));
        var persisted = new List<SlotRecord>();
        var slots = new LedgerSlots(book, gate: null, time, persisted.Add);
        var now = time.NowNs();
        var request = new SlotReservation
        {
            requestId = "r-1", kind = ReservationKinds.Request, entity = Vm, entityId = EntityIds.Of(Vm), detectionId = "h1:1:r1", level = Levels.Vm,
            scope = Scopes.Machine, group = "vm:dc1/h1/v1", datacenter = "dc1", cluster = "dc1-kafka", planner = "p1", leaseEpoch = 4,
            reason = "no room in dc1", writtenAtNs = now, expiresAtNs = now + (long)TimeSpan.FromSeconds(30).TotalNanoseconds,
        };

        Assert.NotNull(slots.Reserve(request, out var why));
        Assert.Equal(LedgerEvents.Reserve, Assert.Single(persisted).@event);
        Assert.Equal(CrossDcPolicy.ReceiveId("h1:1:r1", Levels.Vm, 4), persisted[0].members[0].commandId);

        // The receive never answers: past the lease's expiry and the grace, the booking gives the host back.
        time.Advance(TimeSpan.FromSeconds(36));
        var expired = Assert.Single(planner.Expire());
        Assert.Null(expired.Command);
        Assert.Equal([LedgerEvents.Expire, LedgerEvents.Free], expired.Records.Select(r => r.@event));
        Assert.Null(book.Slot(persisted[0].slot));
        Assert.True(slots.Reserve(new SlotReservation
        {
            requestId = "r-2", kind = ReservationKinds.Request, entity = Vm, entityId = EntityIds.Of(Vm), detectionId = "h1:2:r1", level = Levels.Vm,
            scope = Scopes.Machine, group = "vm:dc1/h1/v9", datacenter = "dc1", cluster = "dc1-kafka", planner = "p1", leaseEpoch = 5,
            reason = "again", writtenAtNs = time.NowNs(), expiresAtNs = time.NowNs() + 1_000_000_000,
        }, out why) is not null, why);
    }
}
