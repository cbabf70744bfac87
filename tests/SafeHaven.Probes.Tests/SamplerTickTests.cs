using SafeHaven.Core.Samples;
using SafeHaven.Schemas;

namespace SafeHaven.Probes.Tests;

/// <summary>The sampler hands each tick's samples to the sink together (the Kafka sink makes them one record).</summary>
public sealed class SamplerTickTests
{
    private sealed class TickSink : ISampleSink
    {
        public List<IReadOnlyList<CounterSample>> Ticks { get; } = [];

        public void Publish(CounterSample sample) => throw new InvalidOperationException("the sampler publishes whole ticks");

        public void PublishTick(IReadOnlyList<CounterSample> samples) => Ticks.Add([.. samples]);
    }

    [Fact]
    public async Task Every_slot_publishes_all_its_processes_as_one_tick_that_packs_into_one_batch()
    {
        using var a = ChildProcess.Idle();
        using var b = ChildProcess.Idle();
        var sink = new TickSink();
        var options = new ProbeOptions { HostId = "h", Period = TimeSpan.FromMilliseconds(1), Counters = ["context-switches"], Pids = [a.Pid, b.Pid] };
        using var sampler = new Sampler(options, TimeProvider.System, sink);
        sampler.SampleOnce(); // opens the counters; nothing to read yet
        await Poll.Require(() => sampler.SampleOnce() == 2 || sink.Ticks.Any(t => t.Count == 2), "a slot that reads both processes");

        var tick = sink.Ticks.Last(t => t.Count == 2);
        Assert.Equal([a.Pid, b.Pid], tick.Select(s => s.entity.pid!.Value).Order());
        var batch = SampleBatches.From(tick);
        Assert.Equal(("h", tick[0].seq, 2), (batch.host, batch.firstSeq, batch.samples.Count));
        Assert.Equal(tick.Select(s => (s.seq, s.timestampNs, s.intervalNs)), SampleBatches.Expand(batch).Select(s => (s.seq, s.timestampNs, s.intervalNs)));
    }
}
