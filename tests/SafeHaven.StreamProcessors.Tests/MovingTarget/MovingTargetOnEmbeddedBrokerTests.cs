using Confluent.Kafka;
using SafeHaven.Core;
using SafeHaven.Core.Placement;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;
using SafeHaven.StreamProcessors.MovingTarget;
using SafeHaven.StreamProcessors.Planning;
using SafeHaven.StreamProcessors.Tests.Planning;
using static SafeHaven.StreamProcessors.Tests.Planning.PlannerRecords;

namespace SafeHaven.StreamProcessors.Tests.MovingTarget;

/// <summary>
/// A core schedule run by the active planner on the embedded broker (what the old scheduler's broker test proved, now
/// through the ledger): signed commands alternating over the pool, each move only after the last one's result, the
/// overhead read back from the results topic, and a detection of the entity stopping its moves.
/// </summary>
public sealed class MovingTargetOnEmbeddedBrokerTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task The_planner_issues_signed_alternating_moves_through_the_ledger_and_a_detection_stops_them()
    {
        using var bus = await PlannerOnBroker.StartAsync("mtd", partitions: 1);
        await bus.PublishInventoryAsync("dc1/h1", Actuator("h1", "h1-agent", "2-3"));
        await bus.PublishProcessAsync(42);
        var mtd = MovingTargetScheduleTests.Options(Levels.Core, 42);
        mtd.Schedules[0].Period = TimeSpan.FromSeconds(1);
        using var planner = bus.Planner(new PlannerOptions { GroupId = PlannerOnBroker.UniqueGroup("planner"), InstanceId = "pm" }, mtd);
        await planner.StartAsync(CancellationToken.None);
        using var reader = bus.Reader(bus.Topics.Commands);
        var codec = new SingleObjectCodec<IsolationCommand>();
        var commands = new List<(string Key, IsolationCommand Value)>();
        await PlannerOnBroker.ConsumeUntilAsync(reader, async r =>
        {
            var cmd = codec.Decode(r.Message.Value);
            // A result the planner missed (e.g. produced before its consumer was assigned) makes it send the same
            // id again to reconcile: the agent answers every copy alike.
            var index = commands.FindIndex(c => c.Value.commandId == cmd.commandId);
            if (index < 0)
            {
                commands.Add((r.Message.Key, cmd));
                index = commands.Count - 1;
            }
            // The agent's answer: 25 ms moves, and one refusal, which leaves the entity where it was.
            var status = index == 2 ? ResultStatus.Rejected : ResultStatus.Succeeded;
            await bus.PublishResultAsync(Result(cmd, status, 25));
        }, () => commands.Count >= 4, Deadline);

        Assert.True(commands.Count == 4, $"{commands.Count} moves within {Deadline}");
        // 2, 3, then 2 refused (it stays on 3), then 2 again.
        Assert.Equal(["2", "3", "2", "2"], commands.Select(c => c.Value.target));
        Assert.All(commands, c =>
        {
            Assert.Null(bus.Verifier.Problem(c.Value));
            Assert.Equal(("h1-agent", "h1-agent", 42), (c.Key, c.Value.source, c.Value.entity.pid));
            Assert.Null(c.Value.detectionId);
            Assert.True(MovingTargetAccount.IsMove(c.Value.commandId), c.Value.commandId);
        });

        // A detection of 42 adopts its CPU: no move follows it.
        await bus.PublishDetectionAsync(DetectionOf(42, "h1:9:r1"));
        var late = new List<IsolationCommand>();
        // Listens for the whole 4 s: any move within them counts.
        await PlannerOnBroker.ConsumeUntilAsync(reader, r =>
        {
            late.Add(codec.Decode(r.Message.Value));
            return Task.CompletedTask;
        }, () => false, TimeSpan.FromSeconds(4));
        await planner.StopAsync(CancellationToken.None);
        // At most the one move that may have been planned before the detection was read; none after.
        Assert.True(late.Count <= 1, $"{late.Count} moves after the detection: {string.Join(", ", late.Select(c => c.commandId))}");

        // The overhead, as `report mtd` reads it from the results topic (the planner's own skipped outcomes included).
        var account = new MovingTargetAccount();
        var results = new SingleObjectCodec<IsolationResult>();
        using var all = new ConsumerBuilder<string, byte[]>(bus.Kafka.Consumer(PlannerOnBroker.UniqueGroup("acct"), "acct")).Build();
        all.Assign(new TopicPartitionOffset(bus.Topics.Results, 0, Offset.Beginning));
        while (all.Consume(TimeSpan.FromSeconds(2)) is { Message: not null } r)
        {
            account.Add(results.Decode(r.Message.Value));
        }
        var row = Assert.Single(account.Report(NowNs() - 3_600_000_000_000, NowNs()));
        // Each command once, however many copies of its answer the topic holds.
        Assert.Equal(("dc1/h1/pid/42", Levels.Core, 3, 1), (row.Entity, row.Level, row.Moves, row.Failures));
        Assert.Equal(0.075, row.MovedSeconds, 3);
        reader.Close();
    }

    // Dated now: the planner dead-letters results outside its bounds.
    private static IsolationResult Result(IsolationCommand cmd, string status, int ms) => new()
    {
        commandId = cmd.commandId, entity = cmd.entity, level = cmd.level, status = status, actuator = cmd.source,
        startedAtNs = NowNs() - (ms * 1_000_000L), finishedAtNs = NowNs(), phases = new Dictionary<string, long>(),
        error = status == ResultStatus.Succeeded ? null : "target cpus 2 are held by pid 7",
    };
}
