using SafeHaven.Core.CrossDc;
using SafeHaven.Core.Placement;
using SafeHaven.Core.Tests.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Tests.CrossDc;

/// <summary>
/// The target planner and a receive of another datacenter's move answered after its booking was given back
/// (docs/LEDGER.md, "Late receives"): the agent ran it in time, then was down past the lease and the grace.
/// </summary>
public sealed class LateReceiveTests
{
    private static readonly EntityRef Vm = new() { datacenter = "dc1", host = "h1", vm = "v1" };
    private const string Slot = "dc2/hv9#host";
    private const string Arrived = "dc2/hv9/vm/v1";

    // dc2 with hv9 (booked for dc1's VM) and h7 (a hypervisor of its own), the booking expired and given back.
    private static (PlannerHarness Dc2, SlotMember Booked) Expired()
    {
        var (dc2, booked) = InboundBookingTests.Booking();
        dc2.Book.Upsert(PlacementBookTests.Actuator("h7-agent", "h7", "", "dc2", Levels.Vm));
        dc2.Time.Advance(TimeSpan.FromSeconds(36));
        var records = dc2.Planner.Expire().SelectMany(d => d.Records).ToList();
        Assert.Equal([PlacementBook.ReceivePrefix + booked.commandId, Slot], records.Select(r => r.slot));
        Assert.Equal([LedgerEvents.Expire, LedgerEvents.Free], records.Select(r => r.@event));
        Assert.Null(dc2.Book.Slot(Slot));
        return (dc2, booked);
    }

    private static IsolationResult Result(string commandId, string status = ResultStatus.Succeeded, string actuator = "hv9-agent", EntityRef? entity = null,
        string level = Levels.Vm) => new()
    {
        commandId = commandId, entity = entity ?? Vm, level = level, status = status, actuator = actuator,
        error = status == ResultStatus.Succeeded ? null : "failed at the agent", phases = new Dictionary<string, long>(StringComparer.Ordinal),
    };

    // A dc2 VM on h7 whose detection takes hv9, the only other hypervisor.
    private static IsolationCommand Dc2Move(PlannerHarness dc2, string vm = "v2", string detection = "h7:1:r1")
    {
        var d = dc2.Planner.Plan(PlannerHarness.Detection(new EntityRef { datacenter = "dc2", host = "h7", vm = vm }, Scopes.Machine, detection));
        Assert.True(d.Command is not null, string.Join(" | ", d.Reasons));
        return d.Command;
    }

    [Fact]
    public void A_sealed_late_success_holds_the_host_again_for_the_arrived_workload_under_its_new_id()
    {
        var (dc2, booked) = Expired();

        var late = dc2.Planner.OnResult(Result(booked.commandId!), "hv9-agent");

        Assert.Equal(LateReceiveOutcomes.Held, late.Late?.Outcome);
        Assert.Null(late.Command);
        Assert.Equal([(Slot, LedgerEvents.Hold), (PlacementBook.ReceivePrefix + booked.commandId, LedgerEvents.Leave)],
            late.Records.Select(r => (r.slot, r.@event)));
        // As a timely success: held under the id it runs by on hv9, in the group it was booked for, under the receive's id.
        var held = Assert.Single(dc2.Book.Slot(Slot)!.members);
        Assert.Equal((Arrived, MemberStatus.Held, booked.commandId, "hv9-agent"), (held.entityId, held.status, held.commandId, held.target));
        Assert.Equal("vm:dc1/h1/v1", dc2.Book.Slot(Slot)!.group);
        Assert.Equal(0, dc2.Book.GivenBackCount);
        // Nobody else gets the host, and nothing expires it again.
        Assert.Null(dc2.Planner.Plan(PlannerHarness.Detection(new EntityRef { datacenter = "dc2", host = "h7", vm = "v2" }, Scopes.Machine, "h7:1:r1")).Command);
        dc2.Time.Advance(TimeSpan.FromMinutes(5));
        Assert.Empty(dc2.Planner.Expire());
        // The target host's tombstone of the arrived id frees it, as for a timely success.
        Assert.Equal(LedgerEvents.Free, Assert.Single(dc2.Planner.OnGone(Arrived).Records).@event);
    }

    [Fact]
    public void A_late_success_on_a_host_another_group_took_records_a_conflict_evicts_nobody_and_holds_the_host_once_that_group_leaves()
    {
        var (dc2, booked) = Expired();
        var move = Dc2Move(dc2);
        var before = dc2.Book.Slot(Slot)!;
        Assert.Equal("vm:dc2/h7/v2", before.group);

        var late = dc2.Planner.OnResult(Result(booked.commandId!), "hv9-agent");

        Assert.Equal(LateReceiveOutcomes.Conflict, late.Late?.Outcome);
        var conflict = Assert.Single(late.Records);
        Assert.Equal((PlacementBook.ReceivePrefix + booked.commandId, LedgerEvents.Conflict), (conflict.slot, conflict.@event));
        Assert.Contains("nobody is evicted", conflict.reason, StringComparison.Ordinal);
        // The other group keeps its booking, untouched, and its command stands.
        Assert.Same(before, dc2.Book.Slot(Slot));
        Assert.Null(late.Command);
        // The SIEM sees a failed result naming the conflict, under an id of its own linked to the receive.
        var notice = late.Late!.Notice!;
        Assert.Equal((booked.commandId + Planner.ConflictSuffix, ResultStatus.Failed, "hv9"), (notice.commandId, notice.status, notice.entity.host));
        // The host takes nobody else meanwhile, not even more of the holder's group.
        var third = dc2.Planner.Plan(PlannerHarness.Detection(new EntityRef { datacenter = "dc2", host = "h7", vm = "v3" }, Scopes.Machine, "h7:2:r1"));
        Assert.Null(third.Command);
        Assert.Null(dc2.Book.ReserveHost(dc2.Book.Find("hv9-agent")!, Levels.Vm, "vm:dc2/h7/v2"));
        // Replayed, or once more when expiry runs while the other group holds: nothing changes.
        Assert.Equal(LateReceiveOutcomes.RefusedDuplicate, dc2.Planner.OnResult(Result(booked.commandId!), "hv9-agent").Late?.Outcome);
        Assert.DoesNotContain(dc2.Planner.Expire(), d => d.Late is not null);

        // The other group's move fails: it leaves, and the arrived workload holds the host at the next expiry pass.
        dc2.Planner.OnResult(PlannerHarness.Result(move, ResultStatus.Failed, "no room"), "h7-agent");
        var resolved = Assert.Single(dc2.Planner.Expire(), d => d.Late is not null);
        Assert.Equal(LateReceiveOutcomes.Resolved, resolved.Late!.Outcome);
        var held = Assert.Single(dc2.Book.Slot(Slot)!.members);
        Assert.Equal((Arrived, MemberStatus.Held, "vm:dc1/h1/v1"), (held.entityId, held.status, dc2.Book.Slot(Slot)!.group));
        Assert.Empty(dc2.Book.Conflicts);
    }

    [Fact]
    public void Forged_replayed_unknown_and_mismatched_late_results_change_nothing_and_say_why()
    {
        var (dc2, booked) = Expired();
        var id = booked.commandId!;
        var ledger = dc2.Book.Render();
        (IsolationResult Result, string? Sealer, string Outcome, bool DeadLetter)[] hostile =
        [
            (Result(id), "h7-agent", LateReceiveOutcomes.RefusedSealer, true),               // another agent of dc2
            (Result(id), "h1-agent", LateReceiveOutcomes.RefusedSealer, true),               // dc1's agent (trusted here by mistake)
            (Result(id), null, LateReceiveOutcomes.RefusedUnsealed, false),                  // results not sealed here
            (Result(id, actuator: "h1-agent"), "hv9-agent", LateReceiveOutcomes.RefusedMismatch, true), // names another datacenter's agent
            (Result(id, entity: new EntityRef { datacenter = "dc1", host = "h1", vm = "v9" }), "hv9-agent", LateReceiveOutcomes.RefusedMismatch, true),
            (Result(id, level: Levels.Container), "hv9-agent", LateReceiveOutcomes.RefusedMismatch, true),
            (Result(CrossDcPolicy.ReceiveId("h1:9:r1", Levels.Vm, 3)), "hv9-agent", LateReceiveOutcomes.RefusedUnknown, false), // never booked here
        ];
        foreach (var (result, sealer, outcome, deadLetter) in hostile)
        {
            var d = dc2.Planner.OnResult(result, sealer);
            Assert.Equal((outcome, deadLetter), (d.Late?.Outcome, d.DeadLetter is not null));
            Assert.Empty(d.Records);
            Assert.Equal(ledger, dc2.Book.Render());
        }

        // The genuine one still works after all of them; then its replay changes nothing.
        Assert.Equal(LateReceiveOutcomes.Held, dc2.Planner.OnResult(Result(id), "hv9-agent").Late?.Outcome);
        var applied = dc2.Book.Render();
        var replay = dc2.Planner.OnResult(Result(id), "hv9-agent");
        Assert.Equal(LateReceiveOutcomes.RefusedDuplicate, replay.Late?.Outcome);
        Assert.Empty(replay.Records);
        Assert.Equal(applied, dc2.Book.Render());
    }

    [Fact]
    public void A_late_failure_settles_the_booking_and_a_success_replayed_after_it_is_unknown()
    {
        var (dc2, booked) = Expired();

        var failed = dc2.Planner.OnResult(Result(booked.commandId!, ResultStatus.Failed), "hv9-agent");

        Assert.Equal(LateReceiveOutcomes.Settled, failed.Late?.Outcome);
        Assert.Equal(LedgerEvents.Leave, Assert.Single(failed.Records).@event);
        Assert.Null(dc2.Book.Slot(Slot));
        Assert.Equal(LateReceiveOutcomes.RefusedUnknown, dc2.Planner.OnResult(Result(booked.commandId!), "hv9-agent").Late?.Outcome);
        Assert.Null(dc2.Book.Slot(Slot));
    }

    [Fact]
    public void The_arrived_workloads_exit_ends_its_remembered_booking_so_a_later_success_holds_nothing()
    {
        var (dc2, booked) = Expired();

        var gone = dc2.Planner.OnGone(Arrived);

        Assert.Equal(LateReceiveOutcomes.Gone, gone.Late?.Outcome);
        Assert.Equal(0, dc2.Book.GivenBackCount);
        Assert.Equal(LateReceiveOutcomes.RefusedUnknown, dc2.Planner.OnResult(Result(booked.commandId!), "hv9-agent").Late?.Outcome);
        Assert.Null(dc2.Book.Slot(Slot));
    }

    [Fact]
    public void A_planner_that_took_over_rebuilds_given_back_bookings_and_conflicts_from_the_ledger()
    {
        var (dc2, booked) = Expired();
        var written = new List<SlotRecord>();
        Dc2Move(dc2);
        written.AddRange(dc2.Planner.OnResult(Result(booked.commandId!), "hv9-agent").Records);
        Assert.Single(dc2.Book.Conflicts);

        // A fresh book fed every record this book holds (what the topic's latest records give a planner that took over).
        var rebuilt = new PlacementBook("p2b");
        foreach (var a in dc2.Book.Actuators)
        {
            rebuilt.Upsert(a);
        }
        foreach (var r in dc2.Book.Held.Concat(dc2.Book.GivenBack))
        {
            rebuilt.Apply(r);
        }

        Assert.Equal(dc2.Book.Render(), rebuilt.Render());
        Assert.Single(rebuilt.Conflicts);
        Assert.Null(rebuilt.ReserveHost(rebuilt.Find("hv9-agent")!, Levels.Vm, "vm:dc2/h7/v3"));
    }

    [Fact]
    public void The_receive_of_a_move_inside_one_datacenter_is_not_taken_for_a_late_receive()
    {
        Assert.True(CrossDcPolicy.IsReceiveId(CrossDcPolicy.ReceiveId("h1:1:r1", Levels.Vm, 12)));
        Assert.False(CrossDcPolicy.IsReceiveId(Planner.CommandId("h1:1:r1", Levels.Vm) + Actions.ReceiveIdSuffix));
        Assert.False(CrossDcPolicy.IsReceiveId("c-h1:1:r1-vm-xdc-in"));
        Assert.False(CrossDcPolicy.IsReceiveId("c-h1:1:r1-vm-xdc1x-in"));
        var dc2 = new PlannerHarness();
        var local = dc2.Planner.OnResult(Result(Planner.CommandId("h1:1:r1", Levels.Vm) + Actions.ReceiveIdSuffix), "hv9-agent");
        Assert.Null(local.Late);
    }

    [Fact]
    public void At_most_MaxGivenBack_bookings_are_remembered_and_the_oldest_is_forgotten_with_a_record()
    {
        var (dc2, first) = Expired();
        var hv9 = dc2.Book.Find("hv9-agent")!;
        LateReceive? dropped = null;
        for (var i = 1; i < PlacementBook.MaxGivenBack + 1; i++)
        {
            var group = $"vm:dc1/h1/x{i}";
            var member = new SlotMember
            {
                entityId = $"dc1/h1/vm/x{i}", entity = new EntityRef { datacenter = "dc1", host = "h1", vm = $"x{i}" }, detectionId = $"h1:{i}:r1",
                scope = Scopes.Machine, status = MemberStatus.Pending, commandId = CrossDcPolicy.ReceiveId($"h1:{i}:r1", Levels.Vm, i), source = "hv9-agent",
                target = "hv9-agent", deadlineNs = dc2.Time.GetUtcNow().ToUnixTimeMilliseconds() * 1_000_000, attempts = 1,
            };
            dc2.Book.Add(dc2.Book.ReserveHost(hv9, Levels.Vm, group)!, member, "booked", 0);
            dc2.Time.Advance(TimeSpan.FromSeconds(6));
            dropped ??= dc2.Planner.Expire().Select(d => d.Late).FirstOrDefault(l => l is not null);
        }

        Assert.Equal(PlacementBook.MaxGivenBack, dc2.Book.GivenBackCount);
        Assert.Equal(LateReceiveOutcomes.Dropped, dropped?.Outcome);
        Assert.Contains(first.commandId!, dropped!.Reason, StringComparison.Ordinal);
        Assert.Null(dc2.Book.GivenBackOf(first.commandId));
    }
}
