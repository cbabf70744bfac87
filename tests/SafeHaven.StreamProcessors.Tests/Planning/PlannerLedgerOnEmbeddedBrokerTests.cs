using System.Diagnostics;
using Confluent.Kafka;
using SafeHaven.Core;
using SafeHaven.Core.Placement;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;
using SafeHaven.StreamProcessors.Planning;
using static SafeHaven.StreamProcessors.Tests.Planning.PlannerRecords;

namespace SafeHaven.StreamProcessors.Tests.Planning;

/// <summary>
/// Two planner instances on the embedded broker over TCP: one holds the ledger lease and acts; when it stops, the
/// standby rebuilds the ledger from the topic and carries on without double booking or repeating a command.
/// </summary>
public sealed class PlannerLedgerOnEmbeddedBrokerTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_standby_takes_over_from_the_ledger_with_no_double_booking_and_no_repeated_command()
    {
        using var bus = await PlannerOnBroker.StartAsync("plan", partitions: 2);
        await bus.PublishInventoryAsync("dc1/h1", Actuator("h1", "h1-agent", "2-3"));
        await bus.PublishProcessAsync(101);
        var group = PlannerOnBroker.UniqueGroup("planner");
        using var first = bus.Planner(new PlannerOptions { GroupId = group, InstanceId = "pa" });
        using var second = bus.Planner(new PlannerOptions { GroupId = group, InstanceId = "pb" });
        await first.StartAsync(CancellationToken.None);
        Assert.True(await Poll.Until(() => first.Active, Deadline), "the first planner never took the lease");
        await second.StartAsync(CancellationToken.None);

        using var commands = bus.Reader(bus.Topics.Commands);
        var d1 = DetectionOf(101, "h1:1:r1");
        await bus.PublishDetectionAsync(d1);
        var c1 = await NextCommandAsync(commands);
        Assert.Equal("2", c1.target);
        Assert.True(first.Active);
        Assert.False(second.Active, "two planners active at once");
        Assert.Null(bus.Verifier.Problem(c1));

        var stopped = Stopwatch.StartNew();
        await first.StopAsync(CancellationToken.None);
        Assert.True(await Poll.Until(() => second.Active, TimeSpan.FromSeconds(15)), "the standby did not take over within 15 s");
        var takeoverMs = stopped.Elapsed.TotalMilliseconds;

        // The same detection again (a redelivery), then a new suspect whose inventory record comes after its
        // detection: it waits for the record (its group decides its slot), then one command, to the other CPU.
        // No agent answers here, so 15 s after a command left (its 10 s TTL + 5 s grace) the active planner sends it
        // again, same id, to reconcile (Planner.Expire); a loaded machine reaches that for c1 before the end of this
        // test. Such copies may be read anywhere below; a command of another id for d1, or one for 102 before its
        // record, may not.
        await bus.PublishDetectionAsync(d1);
        await bus.PublishDetectionAsync(DetectionOf(102, "h1:2:r1"));
        AssertCopiesOf([c1], await ReadCommandsAsync(commands, _ => false, TimeSpan.FromSeconds(1)), "before 102's inventory record");
        await bus.PublishProcessAsync(102);
        var read = await ReadCommandsAsync(commands, seen => seen.Any(c => c.commandId != c1.commandId), Deadline);
        var c2 = read.FirstOrDefault(c => c.commandId != c1.commandId) ?? throw new TimeoutException($"no command for 102 within {Deadline}");
        Assert.Equal((102, "3"), (c2.entity.pid, c2.target));
        AssertCopiesOf([c1, c2], [.. read.Where(c => c != c2), .. await ReadCommandsAsync(commands, _ => false, TimeSpan.FromSeconds(2))], "after 102's command");
        Assert.True(takeoverMs < 15_000, $"takeover took {takeoverMs:F0} ms");
    }

    // Every command read is a reconcile copy of one of `sent` (same id, entity and target), never a new decision.
    private static void AssertCopiesOf(IsolationCommand[] sent, List<IsolationCommand> read, string when) =>
        Assert.All(read, c => Assert.True(sent.Any(o => (c.commandId, c.entity.pid, c.target) == (o.commandId, o.entity.pid, o.target)),
            $"{when}: command {c.commandId} (pid {c.entity.pid}, target {c.target}) is not a copy of {string.Join(" or ", sent.Select(o => o.commandId))}"));

    // The commands read until `done` holds for them or `within` passes.
    private static async Task<List<IsolationCommand>> ReadCommandsAsync(IConsumer<string, byte[]> consumer, Func<List<IsolationCommand>, bool> done, TimeSpan within)
    {
        var read = new List<IsolationCommand>();
        await PlannerOnBroker.ConsumeUntilAsync(consumer, r =>
        {
            read.Add(new SingleObjectCodec<IsolationCommand>().Decode(r.Message.Value));
            return Task.CompletedTask;
        }, () => done(read), within);
        return read;
    }

    [Fact]
    public async Task A_stale_detection_is_dead_lettered_and_a_flood_gets_the_host_budget_of_commands_and_skipped_results()
    {
        using var bus = await PlannerOnBroker.StartAsync("pol", partitions: 1);
        await bus.PublishInventoryAsync("dc1/h1", Actuator("h1", "h1-agent", "0-63"));
        for (var pid = 101; pid <= 106; pid++)
        {
            await bus.PublishProcessAsync(pid);
        }
        var options = new PlannerOptions { GroupId = PlannerOnBroker.UniqueGroup("planner"), InstanceId = "pp", MovesPerHostPerMinute = 2 };
        using var planner = bus.Planner(options);
        await planner.StartAsync(CancellationToken.None);
        Assert.True(await Poll.Until(() => planner.Active, Deadline), "the planner never took the lease");

        var stale = DetectionOf(106, "h1:0:r1");
        stale.detectedAtNs = NowNs() - 600_000_000_000;
        await bus.PublishDetectionAsync(stale);
        for (var pid = 101; pid <= 105; pid++)
        {
            await bus.PublishDetectionAsync(DetectionOf(pid, $"h1:{pid}:r1"));
        }

        using var reader = bus.Reader(bus.Topics.Commands, bus.Topics.Results, bus.Topics.Dlq);
        var (commands, skipped, dead) = (new List<IsolationCommand>(), new List<IsolationResult>(), new List<DeadLetter>());
        await PlannerOnBroker.ConsumeUntilAsync(reader, r =>
        {
            if (r.Topic == bus.Topics.Commands)
            {
                commands.Add(new SingleObjectCodec<IsolationCommand>().Decode(r.Message.Value));
            }
            else if (r.Topic == bus.Topics.Results)
            {
                skipped.Add(new SingleObjectCodec<IsolationResult>().Decode(r.Message.Value));
            }
            else
            {
                dead.Add(new SingleObjectCodec<DeadLetter>().Decode(r.Message.Value));
            }
            return Task.CompletedTask;
        }, () => Moves(commands).Count >= 2 && skipped.Count >= 3 && dead.Count >= 1, Deadline);
        await planner.StopAsync(CancellationToken.None);
        // Unanswered, each command is sent again with its id 15 s after it left (TTL + grace) while the planner runs:
        // a loaded machine may still be here then. Copies are not moves; the budget counts moves.
        var tail = new List<string>();
        await PlannerOnBroker.ConsumeUntilAsync(reader, r =>
        {
            tail.Add(r.Topic == bus.Topics.Commands && Moves(commands).Any(c => c.commandId == new SingleObjectCodec<IsolationCommand>().Decode(r.Message.Value).commandId)
                ? "" : $"{r.Topic}@{r.Offset}");
            return Task.CompletedTask;
        }, () => false, TimeSpan.FromSeconds(1));

        Assert.True(dead.Count == 1 && skipped.Count == 3, $"dead letters: {dead.Count} ({string.Join("; ", dead.Select(d => d.reason))}), skipped: {skipped.Count}");
        Assert.Equal([101, 102], Moves(commands).Select(c => c.entity.pid!.Value).Order());
        Assert.All(commands, c => Assert.Contains(Moves(commands), m => (m.commandId, m.entity.pid, m.target) == (c.commandId, c.entity.pid, c.target)));
        Assert.Equal([103, 104, 105], skipped.Select(r => r.entity.pid!.Value).Order());
        Assert.All(skipped, r => Assert.Equal((ResultStatus.Skipped, "budget of 2 moves per host per minute spent on dc1/h1"), (r.status, r.error)));
        var letter = Assert.Single(dead);
        Assert.Equal(bus.Topics.Detections, letter.topic);
        Assert.Contains("stale detection h1:0:r1: detected 600.", letter.reason, StringComparison.Ordinal);
        Assert.All(tail, t => Assert.True(t.Length == 0, $"after the planner stopped: {t} (only copies of its two commands may come late)"));
    }

    // The distinct commands (a reconcile copy has the id of the command it repeats).
    private static List<IsolationCommand> Moves(List<IsolationCommand> commands) => [.. commands.DistinctBy(c => c.commandId)];

    private static async Task<IsolationCommand> NextCommandAsync(IConsumer<string, byte[]> consumer)
    {
        IsolationCommand? command = null;
        await PlannerOnBroker.ConsumeUntilAsync(consumer, r =>
        {
            command = new SingleObjectCodec<IsolationCommand>().Decode(r.Message.Value);
            return Task.CompletedTask;
        }, () => command is not null, Deadline);
        return command ?? throw new TimeoutException($"no command within {Deadline}");
    }
}
