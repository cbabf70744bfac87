using SafeHaven.Core;
using SafeHaven.Core.CrossDc;
using SafeHaven.Core.Placement;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;
using SafeHaven.StreamProcessors.Planning.CrossDc;

namespace SafeHaven.StreamProcessors.Tests.Planning.CrossDc;

/// <summary>
/// Two datacenters' planners over two embedded brokers (docs/SCALING.md §4): dc1's own planner finds no room for a hot
/// VM, dc1's planner with dc2's cluster clients moves it under an action lease into a host booked in dc2's ledger, and
/// dc2's planner refuses a competing move of that workload while the lease is held.
/// </summary>
public sealed class CrossDcPlannersTests
{
    private static readonly EntityRef Vm = new() { datacenter = "dc1", host = "h1", vm = "v1" };

    private static ActuatorInfo Agent(string id, string dc, string host) =>
        new(id, dc, host, new HashSet<string>([Levels.Vm], StringComparer.Ordinal), CpuList.Empty);

    private static SafeHaven.Schemas.Detection Hot(string id) => new()
    {
        detectionId = id, entity = Vm, rule = "r1", counter = "context-switches", rate = 5000, threshold = 1000, scope = Scopes.Machine,
        // Now: the planner dead-letters a detection outside its time-to-live.
        detectedAtNs = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100, firstSampleAtNs = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100 - 1_000_000_000,
    };

    [Fact]
    public async Task A_move_dc1_has_no_room_for_lands_in_dc2_and_dc2s_planner_refuses_a_competing_move_while_the_lease_is_held()
    {
        // dc2's planner: its ledger, its lock, and the lease guard on its planning.
        var dc2Book = new PlacementBook("p2");
        dc2Book.Upsert(Agent("hv9-agent", "dc2", "hv9"));
        var dc2Gate = new object();
        var persisted = new System.Collections.Concurrent.ConcurrentQueue<SlotRecord>();
        using var dcs = new TwoDatacenters(slots: d => new LedgerSlots(dc2Book, dc2Gate, TimeProvider.System, record =>
        {
            // As the planner's session writes its ledger: its cluster on the record, sealed, acknowledged before the answer.
            record.cluster = d.Dc2Link.Kafka.Options.Cluster;
            var value = new SingleObjectCodec<SlotRecord>().Encode(record);
            d.Dc2Link.ProduceSealedAsync(d.Dc2Link.Topics.Placements, Seals.Kinds.Placements, record.slot, value, d.Dc2Seal, CancellationToken.None)
                .GetAwaiter().GetResult();
            persisted.Enqueue(record);
        }));
        var dc2Planner = new Planner(dc2Book, TimeProvider.System, new PlannerSettings(TimeSpan.FromSeconds(15))
        {
            LeaseRefusal = id => dcs.Dc2Follows.Read(b => b.Refusal(id, "dc2")),
        });
        // The competing move: while dc2's agent receives the VM (dc1's lease held), dc2's planner is asked to move it too.
        PlanDecision? competing = null;
        dcs.OnExecute = (dc, cmd) =>
        {
            if (dc == "dc2" && cmd.action == Actions.Receive)
            {
                lock (dc2Gate)
                {
                    competing = dc2Planner.Plan(Hot("dc2:1:r1"));
                }
            }
        };

        // dc1's planner: only the suspect's own host, so no level of dc1 has room.
        var dc1Book = new PlacementBook("p1");
        dc1Book.Upsert(Agent("h1-agent", "dc1", "h1"));
        var dc1Planner = new Planner(dc1Book, TimeProvider.System, new PlannerSettings(TimeSpan.FromSeconds(15)));
        var detection = Hot("h1:1:r1");
        var home = dc1Planner.Plan(detection);
        Assert.Null(home.Command);
        var escalation = new CrossDcEscalation(dc1Planner, dc1Book, new object(), dcs.Mover(dcs.Dc1, dcs.Dc1Link, dcs.Dc1Follows),
            new CrossDcSettings(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(15), DryRun: true), TimeProvider.System);

        var (outcome, ledger) = (await escalation.AfterAsync(detection, home, CancellationToken.None))!.Value;

        Assert.Equal(CrossDcStatus.Succeeded, outcome.Status);
        Assert.Equal(new CrossDcGrant("dc2/hv9#host", "hv9-agent", "hv9-agent"), outcome.Grant);
        // dc1's ledger: the detection no longer waits. dc2's ledger: the host is booked under the receive command's id.
        Assert.Equal(LedgerEvents.Leave, Assert.Single(ledger).@event);
        Assert.Null(dc1Book.WaitingOf(EntityIds.Of(Vm)));
        var booked = Assert.Single(persisted);
        Assert.Equal(("dc2/hv9#host", "dc2-kafka"), (booked.slot, booked.cluster));
        Assert.Equal(CrossDcPolicy.ReceiveId(detection.detectionId, Levels.Vm, outcome.Epoch), booked.members[0].commandId);
        Assert.Equal(outcome.Receive!.commandId, booked.members[0].commandId);
        // Both commands carry the lease epoch (the fencing token) and dc1's cluster.
        Assert.All(dcs.Executed, e => Assert.Equal((outcome.Epoch, "dc1-kafka"), (e.Command.leaseEpoch, e.Command.cluster)));

        // While the lease was held, dc2's planner planned nothing for the workload, naming dc1's lease.
        Assert.NotNull(competing);
        Assert.Null(competing.Command);
        Assert.Empty(competing.Records);
        Assert.Contains("action lease of datacenter dc1", Assert.Single(competing.Reasons), StringComparison.Ordinal);
        Assert.Equal(2, dcs.Executed.Count);

        // Released once the outcome was known: then dc2's planner may act on it.
        await Poll.Require(() => dcs.Dc2Follows.Read(b => b.Live(EntityIds.Of(Vm))) is null, "dc2 reads dc1's release record");
        lock (dc2Gate)
        {
            var after = dc2Planner.Plan(Hot("dc2:2:r1"));
            Assert.DoesNotContain(after.Reasons, r => r.Contains("action lease", StringComparison.Ordinal));
        }
    }
}
