using SafeHaven.Cli.Top;
using SafeHaven.Schemas;

namespace SafeHaven.Cli.Tests.Top;

/// <summary>What <c>top</c> folds from the topics: each figure follows the records it comes from.</summary>
public sealed class TopStateTests
{
    private const long S = 1_000_000_000;
    private static readonly long T0 = 1_800_000_000 * S;

    [Fact]
    public void A_detected_entity_is_hot_with_its_latest_sample_rate_until_two_minutes_pass()
    {
        var state = new TopState();
        state.OnDetection(Detection(pid: 42, rate: 5_000, at: T0));
        state.OnSample(Sample(pid: 42, count: 30_000, at: T0 + 2 * S));
        state.OnSample(Sample(pid: 7, count: 1, at: T0 + 2 * S));

        var hot = Assert.Single(state.Snapshot(T0 + 3 * S).Hot);
        Assert.Equal(42, hot.Entity.pid);
        Assert.Equal(30_000, hot.LastRate, 3);
        Assert.Equal(5_000, hot.DetectedRate, 3);
        Assert.Equal(2_000, hot.Threshold);
        Assert.Empty(state.Snapshot(T0 + TopState.HotForNs + 1).Hot);
    }

    [Fact]
    public void A_host_counts_the_entities_of_its_last_complete_tick()
    {
        var state = new TopState();
        foreach (var pid in new[] { 1, 2, 3 })
        {
            state.OnSample(Sample(pid, 1, T0));
        }
        state.OnSample(Sample(1, 1, T0 + S));

        var host = Assert.Single(state.Snapshot(T0 + S).Hosts);
        Assert.Equal(3, host.EntitiesLastTick);
        Assert.Equal(4, host.Samples);
        Assert.Equal(S, host.PeriodNs);
    }

    [Fact]
    public void A_result_joins_its_command_and_skips_and_failures_are_counted()
    {
        var state = new TopState();
        state.OnCommand(Command("c-1"));
        state.OnResult(Result("c-1", "succeeded", 5_000_000));
        state.OnResult(Result("c-2", "skipped", 0));
        state.OnResult(Result("c-3", "failed", 0));

        var s = state.Snapshot(T0);
        var c1 = Assert.Single(s.Commands, c => c.CommandId == "c-1");
        Assert.Equal("succeeded", c1.Status);
        Assert.Equal(5.0, c1.TotalMs);
        Assert.Equal(2.0, c1.Phases["cpuset"]);
        Assert.Equal(1, s.Skipped);
        Assert.Equal(1, s.Failed);
        Assert.Equal(3, s.Commands.Count);
    }

    [Fact]
    public void The_ledger_shows_held_slots_and_a_tombstone_or_a_free_slot_removes_one()
    {
        var state = new TopState();
        state.OnSlot("a", Slot("a", group: "pgid:1", members: 1));
        state.OnSlot("b", Slot("b", group: "pgid:2", members: 1));
        state.OnSlot("c", Slot("c", group: null, members: 0));
        Assert.Equal(["a", "b"], state.Snapshot(T0).Isolations.Select(i => i.slot));

        state.OnSlot("a", null);
        state.OnSlot("b", Slot("b", group: null, members: 0));
        Assert.Empty(state.Snapshot(T0).Isolations);
    }

    [Fact]
    public void A_detection_waiting_for_room_and_a_given_back_booking_are_not_isolations_held()
    {
        // Seen in CI: a parked worker's wait record (no level) sorted first and the title read "Isolations held ( 1, core 1)".
        var state = new TopState();
        state.OnSlot("a", Slot("a", group: "pgid:1", members: 1));
        state.OnSlot("wait:dc/h1/pid/0", Relabelled(Slot("wait:dc/h1/pid/0", group: "pgid:2", members: 1), level: "", ledgerEvent: "wait"));
        state.OnSlot("receive:c-1-in", Relabelled(Slot("receive:c-1-in", group: "vm:dc1/h1/v1", members: 1), level: "vm", ledgerEvent: "expire"));

        var s = state.Snapshot(T0);

        Assert.Equal(["a"], s.Isolations.Select(i => i.slot));
        Assert.Equal(["wait:dc/h1/pid/0"], s.Waiting.Select(w => w.slot));
        state.OnSlot("wait:dc/h1/pid/0", Relabelled(Slot("wait:dc/h1/pid/0", group: "pgid:2", members: 0), level: "", ledgerEvent: "leave"));
        Assert.Empty(state.Snapshot(T0).Waiting);
    }

    [Fact]
    public void Dead_letters_are_counted_by_reason_and_undecodable_records_are_shown()
    {
        var state = new TopState();
        state.OnDeadLetter(new DeadLetter { topic = "t", reason = "unsealed: no sh-sig header", consumer = "d", failedAtNs = T0 });
        state.OnDeadLetter(new DeadLetter { topic = "t", reason = "unsealed: bad key", consumer = "d", failedAtNs = T0 });
        state.OnDeadLetter(new DeadLetter { topic = "t", reason = "batch entry 3 of 9", consumer = "d", failedAtNs = T0 });
        state.OnUndecodable("detections");

        var s = state.Snapshot(T0);
        Assert.Equal(2, s.DeadLetters["unsealed"]);
        Assert.Equal(1, s.DeadLetters["batch entry 3 of 9"]);
        Assert.Equal(1, s.Records["detections (undecodable)"]);
    }

    [Fact]
    public void The_json_document_carries_what_the_tables_show()
    {
        var state = new TopState();
        state.OnDetection(Detection(pid: 42, rate: 5_000, at: T0));
        state.OnSlot("a", Slot("a", group: "pgid:1", members: 1));

        var json = TopJson.Of(state.Snapshot(T0));
        Assert.Equal(42, (int)json["hot"]![0]!["pid"]!);
        Assert.Equal("held", (string)json["isolations"]![0]!["members"]![0]!["status"]!);
    }

    private static EntityRef Entity(int pid) => new() { datacenter = "dc", host = "h1", pid = pid, comm = "w" };

    private static CounterSample Sample(int pid, long count, long at) => new()
    {
        host = "h1", entity = Entity(pid), values = new Dictionary<string, long> { ["context-switches"] = count },
        intervalNs = S, timestampNs = at, seq = 0,
    };

    private static Detection Detection(int pid, double rate, long at) => new()
    {
        detectionId = $"h1:{at}:0:storm", entity = Entity(pid), rule = "storm", counter = "context-switches", rate = rate,
        threshold = 2_000, scope = "core", detectedAtNs = at, firstSampleAtNs = at,
    };

    private static IsolationCommand Command(string id) => new()
    {
        commandId = id, entity = Entity(42), level = "core", action = "isolate", source = "0", target = "1", issuedAtNs = T0,
        deadlineNs = T0 + S, reasons = [], signature = [],
    };

    private static IsolationResult Result(string id, string status, long ns) => new()
    {
        commandId = id, entity = Entity(42), level = "core", status = status, startedAtNs = T0, finishedAtNs = T0 + ns,
        phases = new Dictionary<string, long> { ["cpuset"] = 2_000_000 }, actuator = "h1",
    };

    private static SlotRecord Relabelled(SlotRecord slot, string level, string ledgerEvent)
    {
        slot.level = level;
        slot.@event = ledgerEvent;
        return slot;
    }

    private static SlotRecord Slot(string id, string? group, int members) => new()
    {
        slot = id, actuator = "h1", level = "core", cpus = "1", group = group, @event = group is null ? "free" : "hold", reason = "",
        writer = "p", updatedAtNs = T0,
        members = [.. Enumerable.Range(0, members).Select(i => new SlotMember
        {
            entityId = $"dc/h1/pid/{i}", entity = Entity(i), scope = "core", status = "held", source = "0", target = "1", deadlineNs = T0,
        })],
    };
}
