using System.Collections.Concurrent;
using SafeHaven.Schemas;
using Xunit.Abstractions;

namespace SafeHaven.Probes.Tests;

public sealed class RoundRobinTests(ITestOutputHelper output) : IDisposable
{
    private sealed class ListSink : ISampleSink
    {
        public ConcurrentQueue<CounterSample> Samples { get; } = new();

        public void Publish(CounterSample sample) => Samples.Enqueue(sample);
    }

    private readonly List<ChildProcess> _children = [];

    public void Dispose()
    {
        foreach (var c in _children)
        {
            c.Dispose();
        }
    }

    private ChildProcess Own(ChildProcess c)
    {
        _children.Add(c);
        return c;
    }

    private static long Median(IEnumerable<long> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    [Theory]
    [InlineData(5, 2, new[] { 1, 2, 2 })]
    [InlineData(6, 2, new[] { 2, 2, 2 })]
    [InlineData(3, 1, new[] { 1, 1, 1 })]
    [InlineData(4, 4, new[] { 4 })]
    [InlineData(7, 0, new[] { 7 })]
    [InlineData(0, 3, new[] { 0 })]
    public void Plan_cuts_processes_into_ceil_n_over_max_slots(int n, int max, int[] sizes)
    {
        var groups = RoundRobinScheduler.Plan(Enumerable.Range(0, n).ToList(), max);
        Assert.Equal(sizes.Order(), groups.Select(g => g.Count).Order());
        Assert.Equal(Enumerable.Range(0, n), groups.SelectMany(g => g)); // each once, in order
    }

    [Trait("Category", "Timing")]
    [Fact]
    public async Task Each_process_is_counted_in_its_own_slot_once_per_period()
    {
        var busy = Own(ChildProcess.PythonScript("import time\nwhile True: time.sleep(0.0005)"));
        var idle = Enumerable.Range(0, 5).Select(_ => Own(ChildProcess.Idle())).ToList();
        // 6 processes, at most 2 at once: 3 slots of 100 ms per 300 ms period.
        var options = new ProbeOptions
        {
            HostId = "h",
            Period = TimeSpan.FromMilliseconds(300),
            MaxConcurrentProcesses = 2,
            Counters = ["context-switches", "proc:voluntary_ctxt_switches"],
            Pids = [busy.Pid, .. idle.Select(c => c.Pid)],
        };
        var sink = new ListSink();
        using var sampler = new Sampler(options, TimeProvider.System, sink);
        Assert.Throws<InvalidOperationException>(() => sampler.SampleOnce());
        using var cts = new CancellationTokenSource();
        var run = sampler.RunAsync(cts.Token);
        int Count(int pid) => sink.Samples.Count(s => s.entity.pid == pid);

        await Poll.Require(() => options.Pids.All(p => Count(p) >= 5), "five samples of every process");
        // A process that exits while waiting for its slot is dropped; the others go on.
        idle[0].KillAndWait();
        int before = Count(idle[1].Pid);
        await Poll.Require(() => !sampler.WatchedPids.Contains(idle[0].Pid) && Count(idle[1].Pid) >= before + 2, "gone process dropped");
        await cts.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(5));

        var samples = sink.Samples.ToList();
        Assert.Equal(Enumerable.Range(0, samples.Count).Select(i => (long)i), samples.Select(s => s.seq));
        foreach (int pid in options.Pids)
        {
            var mine = samples.Where(s => s.entity.pid == pid).ToList();
            output.WriteLine($"pid {pid}: windows (ms) {string.Join(", ", mine.Select(s => s.intervalNs / 1_000_000))}; gaps (ms) {string.Join(", ", mine.Zip(mine.Skip(1), (a, b) => (b.timestampNs - a.timestampNs) / 1_000_000))}");
            // Counted for one slot (a third of the time), once per period. Robust to a stalled slot on
            // a loaded machine: the next slots then shrink to half a slot while the schedule catches up.
            double counted = (double)mine.Skip(1).Sum(s => s.intervalNs) / (mine[^1].timestampNs - mine[0].timestampNs);
            Assert.InRange(counted, 0.15, 0.6);
            Assert.InRange(Median(mine.Zip(mine.Skip(1), (a, b) => b.timestampNs - a.timestampNs)), 150_000_000, 450_000_000);
            Assert.All(mine, s => Assert.Equal(["context-switches", "proc:voluntary_ctxt_switches"], s.values.Keys.Order()));
        }
        // Never more than two processes counted at once: windows of a third process never overlap.
        var edges = samples.SelectMany(s => new[] { (T: s.timestampNs - s.intervalNs + 1_000_000, D: 1), (T: s.timestampNs - 1_000_000, D: -1) })
            .OrderBy(e => e.T).ThenBy(e => e.D);
        int open = 0, most = 0;
        foreach (var (_, d) in edges)
        {
            most = Math.Max(most, open += d);
        }
        Assert.InRange(most, 1, 2);
        // The counts are those of the slot: a busy process's rate stands out, an idle one's does not.
        double Rate(int pid) => samples.Where(s => s.entity.pid == pid).Skip(1).Average(s => s.values["context-switches"] * 1e9 / s.intervalNs);
        output.WriteLine($"busy {Rate(busy.Pid):F0}/s, idle {Rate(idle[1].Pid):F0}/s, slot lateness (ms) {string.Join(", ", sampler.Timings.LatenessNs().Select(l => l / 1_000_000))}");
        Assert.True(Rate(busy.Pid) > 300 && Rate(busy.Pid) > 20 * (Rate(idle[1].Pid) + 1), $"busy {Rate(busy.Pid):F0}/s");
        // /proc counters cover the same slot: the busy process's voluntary switches match perf's context-switches.
        var last = samples.Last(s => s.entity.pid == busy.Pid);
        Assert.InRange(last.values["proc:voluntary_ctxt_switches"], last.values["context-switches"] * 0.8, (last.values["context-switches"] * 1.2) + 5);
    }

    [Trait("Category", "Timing")]
    [Fact]
    public async Task Slots_are_scheduled_from_the_period_start_and_do_not_drift()
    {
        var idle = Enumerable.Range(0, 8).Select(_ => Own(ChildProcess.Idle())).ToList();
        // One at a time: 8 slots of 20 ms per 160 ms period, 50 slot starts per second.
        var options = new ProbeOptions { HostId = "h", Period = TimeSpan.FromMilliseconds(160), MaxConcurrentProcesses = 1, Pids = [.. idle.Select(c => c.Pid)] };
        var sink = new ListSink();
        using var sampler = new Sampler(options, TimeProvider.System, sink);
        using var cts = new CancellationTokenSource();
        var run = sampler.RunAsync(cts.Token);
        int probe = idle[3].Pid;

        await Poll.Require(() => sink.Samples.Count(s => s.entity.pid == probe) >= 16, "sixteen periods", seconds: 20);
        await cts.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(5));

        // A slot timed from the previous one would add its lateness (≥ 1 ms of timer resolution,
        // 8 per period) to every later one: over 15 periods that is 120 ms or more. Anchored slots
        // only ever miss their own start. Modulo the period: a stalled machine may skip a period,
        // which keeps the phase.
        var ts = sink.Samples.Where(s => s.entity.pid == probe).Select(s => s.timestampNs).ToList();
        const long P = 160_000_000L;
        var deviationMs = ts.Select(t => ((((t - ts[0]) % P) + P + (P / 2)) % P - (P / 2)) / 1e6).ToList();
        var lateness = sampler.Timings.LatenessNs();
        output.WriteLine($"deviation from the schedule (ms): {string.Join(", ", deviationMs.Select(d => d.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)))}");
        output.WriteLine($"slot lateness p50 {Median(lateness) / 1e6:F2} ms, max {lateness.Max() / 1e6:F2} ms over {lateness.Length} slots");
        Assert.InRange(Median(deviationMs.Skip(8).Select(d => (long)Math.Abs(d))), 0, 30);
        Assert.InRange(Median(sink.Samples.Select(s => s.intervalNs)), 14_000_000, 26_000_000);
    }
}
