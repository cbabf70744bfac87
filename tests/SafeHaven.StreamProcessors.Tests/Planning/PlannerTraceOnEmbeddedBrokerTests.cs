using System.Collections.Concurrent;
using System.Diagnostics;
using Confluent.Kafka;
using SafeHaven.Core.Placement;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Tracing;
using SafeHaven.Schemas;
using SafeHaven.StreamProcessors.Planning;
using static SafeHaven.StreamProcessors.Tests.Planning.PlannerRecords;

namespace SafeHaven.StreamProcessors.Tests.Planning;

/// <summary>
/// A detection that must wait — for its actuator's capability record, or for its process's own record — is planned
/// later, while the planner reads the inventory; its command still continues the detection's trace (the CI failure of
/// stop 20: under load the process's record came after its detection, and the move's command started a trace of its own).
/// </summary>
public sealed class PlannerTraceOnEmbeddedBrokerTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("actuator")]
    [InlineData("process")]
    public async Task A_command_planned_after_its_detection_waited_carries_the_detections_trace(string lateRecord)
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == SafeHavenActivity.PlannerSource,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        using var bus = await PlannerOnBroker.StartAsync("ptrace", 1);
        if (lateRecord == "process")
        {
            await bus.PublishInventoryAsync("dc1/h1", Actuator("h1", "h1-agent"));
        }
        using var planner = bus.Planner(new PlannerOptions { GroupId = PlannerOnBroker.UniqueGroup("planner"), InstanceId = "pt" });
        await planner.StartAsync(CancellationToken.None);
        using var reader = bus.Reader(bus.Topics.Placements, bus.Topics.Commands);

        // Given a detection written by a detect span, which the planner can place only once a later record arrives
        var trace = ActivityTraceId.CreateRandom();
        var detectSpan = ActivitySpanId.CreateRandom();
        var detection = DetectionOf(4242, "h1:4242:r1:" + lateRecord);
        var message = new Message<string, byte[]>
        {
            Key = "dc1/h1/pid/4242", Value = new SingleObjectCodec<Schemas.Detection>().Encode(detection),
            Headers = new Headers { { TraceHeaders.TraceParent, TraceHeaders.Format(trace, detectSpan, ActivityTraceFlags.Recorded) } },
        };
        await bus.Producer.ProduceAsync(bus.Topics.Detections, message);
        var waited = false;
        Assert.True(await PlannerOnBroker.ConsumeUntilAsync(reader, r =>
        {
            waited |= r.Topic == bus.Topics.Placements && new SingleObjectCodec<SlotRecord>().Decode(r.Message.Value).@event == LedgerEvents.Wait;
            return Task.CompletedTask;
        }, () => waited, Deadline), "the detection never waited in the ledger");

        // When the record it waited for arrives
        if (lateRecord == "actuator")
        {
            await bus.PublishInventoryAsync("dc1/h1", Actuator("h1", "h1-agent"));
        }
        await bus.PublishProcessAsync(4242);

        // Then its command carries the detection's trace, written by a plan span whose parent is the detect span
        ConsumeResult<string, byte[]>? command = null;
        Assert.True(await PlannerOnBroker.ConsumeUntilAsync(reader, r =>
        {
            command ??= r.Topic == bus.Topics.Commands ? r : null;
            return Task.CompletedTask;
        }, () => command is not null, Deadline), "no command was sent once the " + lateRecord + " record arrived");
        Assert.Equal(detection.detectionId, new SingleObjectCodec<IsolationCommand>().Decode(command!.Message.Value).detectionId);
        Assert.True(TraceHeaders.TryExtract(command.Message.Headers, out var carried), "the command has no traceparent");
        Assert.Equal(trace, carried.TraceId);
        var plan = await Poll.For(() => spans.FirstOrDefault(s => s.SpanId == carried.SpanId), Deadline, () => "the command's plan span");
        Assert.Equal(SafeHavenActivity.Plan, plan.OperationName);
        Assert.Equal(detectSpan, plan.ParentSpanId);
        await planner.StopAsync(CancellationToken.None);
    }
}
