using SafeHaven.Core;
using SafeHaven.Core.Placement;
using SafeHaven.Kafka.Clients;
using SafeHaven.Schemas;
using SafeHaven.StreamProcessors.Planning.CrossDc;

namespace SafeHaven.StreamProcessors.Tests.Planning.CrossDc;

/// <summary>
/// The retry of a move out, end to end through <c>plan</c>'s wiring (PlannerService, its once-a-second pass, MoveOutBackoff,
/// the mover) on two embedded brokers (docs/SCALING.md §4): a refused move is moved out again by the pass; a move that timed
/// out after its commands went out is not tried again before they can no longer run (latest deadline + skew + grace), and
/// its late success ends it without a retry. The clock is the test's (FakeTimeProvider): every deadline is 30 s of it and
/// passes only when the test moves it, so a loaded machine delays the test but never expires a command.
/// </summary>
public sealed class MoveOutRetryOnTwoBrokersTests
{
    private static readonly TimeSpan CommandTtl = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Skew = TimeSpan.FromSeconds(2); // ActionLeaseBook's default, as plan runs it

    [Fact]
    public async Task A_parked_detection_whose_move_out_was_refused_is_moved_out_again_by_the_pass()
    {
        using var dcs = new TwoPlanners(CommandTtl, Grace);
        // dc2 has no hypervisor yet: its planner refuses the reservation.
        await dcs.PublishHypervisorAsync(dcs.Producer1, "dc1", "h1", "h1-agent");
        await Poll.Require(() => dcs.Log1.Has("actuator h1-agent on h1") && dcs.Log2.Has("active (lease held)"), "both planners active, dc1's hypervisor known", 60);
        await dcs.PublishDetectionAsync("h1:1:r1");
        await Poll.Require(() => dcs.Log1.Has($"move of {TwoPlanners.Vm} out to dc2: refused"), "the first move out refused\n" + dcs.Describe(), 60);
        Assert.Empty(dcs.Receives());

        // dc2 gets a free hypervisor; the backoff (10 s) passes on the test's clock; the pass tries again.
        await dcs.PublishHypervisorAsync(dcs.Producer2, "dc2", "hv9", "hv9-agent");
        await Poll.Require(() => dcs.Log2.Has("actuator hv9-agent on hv9"), "dc2's hypervisor known", 30);
        dcs.Time.Advance(TimeSpan.FromSeconds(11));
        var receive = await Poll.For(() => dcs.Receives().FirstOrDefault(), TimeSpan.FromSeconds(60), () => "the retry's receive\n" + dcs.Describe());
        Assert.Equal(("hv9-agent", TwoPlanners.Vm), (receive.target, EntityIds.Of(receive.entity)));
        await Poll.Require(() => LeaveOf(dcs, receive.leaseEpoch ?? 0) is not null, "dc1's leave record after the retry\n" + dcs.Describe(), 60);

        // dc2's reservations: a refusal, then the grant of the retry, each answering one request of dc1's.
        var answers = dcs.Dc2Reservations.Decoded<SlotReservation>().Where(r => r.kind != ReservationKinds.Request).ToList();
        Assert.All(answers, a => Assert.Equal(("dc2", "p2"), (a.datacenter, a.planner)));
        Assert.Equal([ReservationKinds.Refused, ReservationKinds.Granted], answers.Select(a => a.kind));
        Assert.Single(dcs.Receives());
    }

    [Fact]
    public async Task A_move_out_that_timed_out_is_not_tried_again_before_its_commands_can_no_longer_run_then_is()
    {
        // A 40 s lease (the commands' 30 s inside it), and dc2's booking of the receive given back 5 s after the lease: before
        // dc1's settle instant (deadline + 2 s skew + 60 s grace), so that the retry finds the host free again.
        using var dcs = new TwoPlanners(CommandTtl, Grace, lease: TimeSpan.FromSeconds(40), targetGrace: TimeSpan.FromSeconds(5)) { HoldFirstReceive = true };
        var first = await TimedOutMoveAsync(dcs);
        var settledAt = first.deadlineNs + (Skew + Grace).Ticks * 100;
        var booked = $"dc2/{first.target.Replace("-agent", "", StringComparison.Ordinal)}#host";

        // dc2 gives its booking of the unanswered receive back (the lease's expiry plus its grace); dc1 still holds the entity.
        dcs.Time.SetUtcNow(DateTimeOffset.UnixEpoch.AddTicks((settledAt - 20_000_000_000) / 100));
        await Poll.For(() => dcs.Dc2Ledger.Sealed<SlotRecord>(dcs.Dc2, Seals.Kinds.Placements).FirstOrDefault(r => r.slot == booked && r.@event == LedgerEvents.Free),
            TimeSpan.FromSeconds(60), () => $"dc2 freeing {booked}\n" + dcs.Describe());
        Assert.Equal([first.commandId], dcs.Receives().Select(r => r.commandId));

        // Nothing came by the settle instant: the pass tries again, and dc2 grants a host.
        dcs.Time.SetUtcNow(DateTimeOffset.UnixEpoch.AddTicks(settledAt / 100 + TimeSpan.TicksPerSecond));
        var second = await Poll.For(() => dcs.Receives().FirstOrDefault(r => r.commandId != first.commandId), TimeSpan.FromSeconds(60),
            () => "the retry's receive after the settle instant\n" + dcs.Describe());
        Assert.True(second.issuedAtNs >= settledAt, $"the second receive went out {(settledAt - second.issuedAtNs) / 1e9:F1} s before the first could no longer run");
        Assert.True(second.leaseEpoch > first.leaseEpoch, $"epochs {first.leaseEpoch} then {second.leaseEpoch}");
        await Poll.Require(() => LeaveOf(dcs, second.leaseEpoch ?? 0) is not null, "dc1's leave record after the retry", 60);
    }

    [Fact]
    public async Task A_late_success_of_a_timed_out_move_out_ends_it_without_a_retry()
    {
        using var dcs = new TwoPlanners(CommandTtl, Grace) { HoldFirstReceive = true };
        var first = await TimedOutMoveAsync(dcs);

        // dc2's agent, which admitted the receive before its deadline, answers now: succeeded.
        dcs.Answer.Set();
        var leave = await Poll.For(() => LeaveOf(dcs, first.leaseEpoch ?? 0), TimeSpan.FromSeconds(60),
            () => "dc1's leave record after the late success\n" + dcs.Describe());
        Assert.Contains($"moved out to slot dc2/{first.target.Replace("-agent", "", StringComparison.Ordinal)}#host", leave.reason, StringComparison.Ordinal);
        Assert.True(dcs.Log1.Has($"move of {TwoPlanners.Vm} out to dc2, after it timed out: succeeded"), dcs.Describe());
        // The lease is released with the late outcome.
        await Poll.Require(() => dcs.Dc2Leases.Decoded<ActionLease>().Any(l => l.released && l.epoch == first.leaseEpoch && l.datacenter == "dc1"),
            "the lease's release record", 30);
        // The entity no longer waits (nothing left for the pass to retry), and one receive was ever sent.
        Assert.Equal([first.commandId], dcs.Receives().Select(r => r.commandId));
    }

    // The first move out of a hot VM, held by dc2's agent after admission: timed out on the test's clock, then past its
    // backoff, the pass holds it (its receive may still land) and sends no second receive.
    private static async Task<IsolationCommand> TimedOutMoveAsync(TwoPlanners dcs)
    {
        await dcs.PublishHypervisorAsync(dcs.Producer1, "dc1", "h1", "h1-agent");
        await dcs.PublishHypervisorAsync(dcs.Producer2, "dc2", "hv9", "hv9-agent");
        await dcs.PublishHypervisorAsync(dcs.Producer2, "dc2", "hv8", "hv8-agent");
        await Poll.Require(() => dcs.Log1.Has("actuator h1-agent on h1") && dcs.Log2.Has("actuator hv9-agent on hv9") && dcs.Log2.Has("actuator hv8-agent on hv8"),
            "both planners active with their hypervisors", 60);
        await dcs.PublishDetectionAsync("h1:1:r1");
        var first = await Poll.For(() => dcs.Receives().FirstOrDefault(), TimeSpan.FromSeconds(60), () => "the first receive\n" + dcs.Describe());
        Assert.Equal(CommandTtl.Ticks * 100, first.deadlineNs - first.issuedAtNs);
        // Admitted by dc2's agent before its deadline, and the isolate by dc1's (answered): only the receive's result is missing.
        await Poll.Require(() => dcs.Admitted.Any(a => a.Command.commandId == first.commandId)
            && dcs.Admitted.Any(a => a.Agent == "h1-agent" && a.Command.leaseEpoch == first.leaseEpoch), "both commands admitted", 60);

        // 5 s past the deadline the mover gives up waiting: timed out.
        dcs.Time.Advance(TimeSpan.FromTicks((first.deadlineNs - dcs.NowNs) / 100) + TimeSpan.FromSeconds(6));
        await Poll.Require(() => dcs.Log1.Has($"move of {TwoPlanners.Vm} out to dc2: timed-out"), "the move out timed out\n" + dcs.Describe(), 60);
        // Past the backoff (10 s) yet before the commands can no longer run: the pass holds it, and sends no second receive.
        dcs.Time.Advance(TimeSpan.FromSeconds(15));
        await Poll.Require(() => dcs.Log1.Has($"{TwoPlanners.Vm} still waits, past its backoff: held"), "the pass holding the entity\n" + dcs.Describe(), 60);
        Assert.Equal([first.commandId], dcs.Receives().Select(r => r.commandId));
        return first;
    }

    private static SlotRecord? LeaveOf(TwoPlanners dcs, long epoch) => dcs.Dc1Ledger.Sealed<SlotRecord>(dcs.Dc1, Seals.Kinds.Placements)
        .FirstOrDefault(r => r.@event == LedgerEvents.Leave && r.reason?.Contains($"under lease epoch {epoch}", StringComparison.Ordinal) == true);
}
