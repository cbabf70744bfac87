using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;
using SafeHaven.StreamProcessors.Planning.CrossDc;

namespace SafeHaven.StreamProcessors.Tests.Planning.CrossDc;

/// <summary>
/// A restarted target planner reads the reservations log from its start, where each request comes before its answer:
/// it must still answer each request once (before the catch-up it answered an already answered request again, a grant
/// while the lease lived, a refusal after).
/// </summary>
public sealed class ReservationResponderRestartTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_restarted_responder_answers_no_request_twice()
    {
        var slots = new GrantingSlots();
        using var dcs = new TwoDatacenters(slots: _ => slots);
        var mover = dcs.Mover(dcs.Dc1, dcs.Dc1Link, dcs.Dc1Follows);
        Assert.Equal("succeeded", (await mover.MoveAsync(TwoDatacenters.Move("h1:1:r1"), CancellationToken.None)).Status);

        // When dc2's planner restarts, and a second move asks for a slot after the restart
        dcs.Responder.Dispose();
        using var restarted = new ReservationResponder(dcs.Dc2, dcs.Dc2Link, dcs.Dc2Follows, slots, TimeProvider.System, NullLogger.Instance);
        var second = TwoDatacenters.Move("h1:2:r1") with
        {
            Entity = new EntityRef { datacenter = "dc1", host = "h1", vm = "v2" }, EntityId = "dc1/h1/vm/v2", Group = "vm:dc1/h1/v2",
        };
        Assert.Equal("succeeded", (await mover.MoveAsync(second, CancellationToken.None)).Status);

        // Then the log holds one answer per request, and the slots were asked twice, not three times
        var answers = await ReadAnswersUntil(dcs, "h1:2:r1");
        Assert.Equal(2, answers.Count);
        Assert.All(answers, a => Assert.Equal(1, a.Value));
        Assert.Equal(2, slots.Calls);
    }

    // Every answer on dc2's reservations topic, counted by request id, read until the answer to the named detection.
    private static async Task<Dictionary<string, int>> ReadAnswersUntil(TwoDatacenters dcs, string detectionId)
    {
        using var reader = dcs.Dc2Link.Consumer("answers-" + Guid.NewGuid().ToString("N"));
        reader.Assign(new TopicPartitionOffset(dcs.Topics.Reservations, 0, Offset.Beginning));
        var codec = new SingleObjectCodec<SlotReservation>();
        var answers = new Dictionary<string, int>(StringComparer.Ordinal);
        var lastAnswerSeen = false;
        await Poll.Require(() =>
        {
            while (reader.Consume(TimeSpan.FromMilliseconds(100)) is { IsPartitionEOF: false, Message.Value: { } value })
            {
                var r = codec.Decode(value);
                if (r.kind != ReservationKinds.Request)
                {
                    answers[r.requestId] = answers.GetValueOrDefault(r.requestId) + 1;
                    lastAnswerSeen |= r.detectionId == detectionId;
                }
            }
            return lastAnswerSeen;
        }, "the answer to " + detectionId, Deadline.TotalSeconds);
        return answers;
    }

    private sealed class GrantingSlots : ICrossDcSlots
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public CrossDcGrant? Reserve(SlotReservation request, out string reason)
        {
            Interlocked.Increment(ref _calls);
            reason = "booked dc2/hv9#host";
            return new CrossDcGrant("dc2/hv9#host", "hv9-agent", "hv9");
        }
    }
}
