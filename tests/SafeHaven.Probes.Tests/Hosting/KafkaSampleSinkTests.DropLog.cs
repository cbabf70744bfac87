using Microsoft.Extensions.Time.Testing;
using SafeHaven.Probes.Hosting.Delivery;

namespace SafeHaven.Probes.Tests.Hosting;

// The sink's drops reach the log, rate-limited, as well as the metric. In the same class as the
// other broker-down tests so they never run in parallel: the mock broker re-binds its old port
// when set up again and aborts the process when another test's socket took it meanwhile.
public sealed partial class KafkaSampleSinkTests
{
    [Fact]
    public void Samples_dropped_while_the_broker_is_down_are_logged_once_per_interval_with_the_count()
    {
        const int buffer = 10, inFlight = 5, overflow = 100;
        using var h = new SinkHarness();
        using var metric = new DroppedMetric(h.ClientId);
        var log = new ListLogger();
        var time = new FakeTimeProvider();
        using (var sink = h.Sink(buffer, inFlight, logger: log, time: time))
        {
            sink.Publish(SinkHarness.Sample(0));
            Assert.True(sink.Flush(SinkHarness.Deadline), "first sample not delivered");
            h.Broker.SetBrokerDown(1);
            for (int i = 1; i <= inFlight; i++)
            {
                sink.Publish(SinkHarness.Sample(i));
            }
            SinkHarness.WaitUntil(() => sink.InFlight == inFlight, "the in-flight window is full");

            for (int i = inFlight + 1; i <= inFlight + buffer + overflow; i++)
            {
                sink.Publish(SinkHarness.Sample(i));
            }

            // The first drop is logged at once; the other 99 wait for the end of the interval.
            var first = Assert.Single(log.Entries);
            Assert.Contains($"{h.ClientId}: dropped 1 samples since the last warning (buffer_full 1)", first.Message, StringComparison.Ordinal);
            time.Advance(DropWarnings.DefaultInterval);
            Assert.Equal(2, log.Entries.Count);
            Assert.Contains($"dropped {overflow - 1} samples since the last warning (buffer_full {overflow - 1})", log.Entries[1].Message, StringComparison.Ordinal);
            Assert.Equal(overflow, metric[ProbeMetrics.BufferFull]);

            h.Broker.SetBrokerUp(1);
            Assert.True(sink.Flush(SinkHarness.Deadline), "not delivered after the broker came back");
        }
        // Nothing more was lost, so closing adds no warning.
        Assert.Equal(2, log.Entries.Count);
    }
}
