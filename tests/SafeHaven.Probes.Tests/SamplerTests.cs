using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;
using SafeHaven.Probes.Proc;
using SafeHaven.Schemas;
using Xunit.Abstractions;

namespace SafeHaven.Probes.Tests;

public sealed class SamplerTests(ITestOutputHelper output)
{
    private sealed class ListSink : ISampleSink
    {
        public ConcurrentQueue<CounterSample> Samples { get; } = new();

        public void Publish(CounterSample sample) => Samples.Enqueue(sample);
    }

    [Trait("Category", "Timing")]
    [Fact]
    public async Task Publishes_one_sample_per_process_per_period()
    {
        using var busy = ChildProcess.PythonScript("import time\nwhile True: time.sleep(0.0005)");
        using var idle = ChildProcess.Idle();
        var options = new ProbeOptions
        {
            HostId = "test-host",
            Datacenter = "dc1",
            Period = TimeSpan.FromMilliseconds(100),
            Counters = ["context-switches", "page-faults", "proc:voluntary_ctxt_switches", "cycles"],
            Pids = [busy.Pid, idle.Pid],
        };
        var sink = new ListSink();
        using var sampler = new Sampler(options, TimeProvider.System, sink);
        using var cts = new CancellationTokenSource();
        var run = sampler.RunAsync(cts.Token);

        await Poll.Require(() => sink.Samples.Count(s => s.entity.pid == busy.Pid) >= 5, "five samples of the busy process");
        await cts.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(5));

        var samples = sink.Samples.ToList();
        Assert.Equal(Enumerable.Range(0, samples.Count).Select(i => (long)i), samples.Select(s => s.seq));
        foreach (var s in samples)
        {
            Assert.Equal("test-host", s.host);
            Assert.Equal("dc1", s.entity.datacenter);
            Assert.Equal("test-host", s.entity.host);
            // A late tick shortens the next window (the timer keeps its phase): bounds are loose,
            // the mean is checked below.
            Assert.InRange(s.intervalNs, 1_000_000, 10_000_000_000);
            Assert.Equal(["context-switches", "page-faults", "proc:voluntary_ctxt_switches"], s.values.Keys.Order());
        }
        foreach (int pid in new[] { busy.Pid, idle.Pid })
        {
            var mine = samples.Where(s => s.entity.pid == pid).ToList();
            Assert.True(mine.Count >= 4, $"pid {pid}: {mine.Count} samples");
            Assert.NotNull(mine[0].entity.startTime);
            // One per period: consecutive windows are about a period apart and never overlap.
            for (int i = 1; i < mine.Count; i++)
            {
                long gap = mine[i].timestampNs - mine[i - 1].timestampNs;
                Assert.InRange(mine[i].intervalNs, gap - 20_000_000, gap + 20_000_000);
            }
            output.WriteLine($"pid {pid} windows (ms): {string.Join(", ", mine.Select(s => s.intervalNs / 1_000_000))}");
            // Robust to one scheduling hiccup of a loaded machine; a broken period shows anyway.
            Assert.InRange(mine.Select(s => s.intervalNs).Order().ElementAt(mine.Count / 2), 50_000_000, 300_000_000);
        }
        double busyRate = samples.Where(s => s.entity.pid == busy.Pid).Skip(1).Average(s => s.values["context-switches"] * 1e9 / s.intervalNs);
        double idleRate = samples.Where(s => s.entity.pid == idle.Pid).Skip(1).Average(s => s.values["context-switches"] * 1e9 / s.intervalNs);
        Assert.True(busyRate > 300 && busyRate > 20 * (idleRate + 1), $"busy {busyRate:F0}/s idle {idleRate:F0}/s");
        Assert.Equal("ok", sampler.CounterStatus["context-switches"]);
        Assert.Equal("ok", sampler.CounterStatus["proc:voluntary_ctxt_switches"]);
        Assert.NotEqual("pending: no process opened yet", sampler.CounterStatus["cycles"]);
    }

    [Fact]
    public async Task New_processes_start_a_period_later_and_gone_ones_are_dropped()
    {
        using var first = ChildProcess.Idle();
        var sink = new ListSink();
        // Fake time: a slot a whole period after the last one, whatever the machine's load. On the
        // system clock, a second slot within half a period of the first open skipped the process.
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20_000));
        var period = TimeSpan.FromMilliseconds(1);
        using var sampler = new Sampler(new ProbeOptions { Comms = ["sh"], HostId = "h", Period = period }, time, sink);
        int NextSlot()
        {
            time.Advance(period);
            return sampler.SampleOnce();
        }

        Assert.Equal(0, sampler.SampleOnce());
        Assert.Contains(first.Pid, sampler.WatchedPids);
        Assert.True(NextSlot() >= 1);
        Assert.Single(sink.Samples, s => s.entity.pid == first.Pid);

        using var second = ChildProcess.Idle();
        await Poll.Require(() => ProcFs.Default.ReadStat(second.Pid)?.Comm == "sh", "sh comm");
        NextSlot();
        Assert.Contains(second.Pid, sampler.WatchedPids);
        Assert.DoesNotContain(sink.Samples, s => s.entity.pid == second.Pid);
        first.KillAndWait();

        NextSlot();
        Assert.DoesNotContain(first.Pid, sampler.WatchedPids);
        Assert.Single(sink.Samples, s => s.entity.pid == second.Pid);
        Assert.Equal(2, sink.Samples.Count(s => s.entity.pid == first.Pid)); // slots 2 and 3, none after the kill
        Assert.Equal(Enumerable.Range(0, sink.Samples.Count).Select(i => (long)i), sink.Samples.Select(s => s.seq));
    }

    [Fact]
    public async Task Samples_every_user_process_by_default()
    {
        var sink = new ListSink();
        using var sampler = new Sampler(new ProbeOptions { HostId = "h", Period = TimeSpan.FromMilliseconds(1) }, TimeProvider.System, sink);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        sampler.SampleOnce();
        var open = sw.Elapsed;
        sw.Restart();
        int published = sampler.SampleOnce();
        var second = sw.Elapsed;
        // Processes opened at the very end of the first slot are read only once half a period passed.
        await Poll.Require(() =>
        {
            if (sink.Samples.Any(s => s.entity.pid == Environment.ProcessId))
            {
                return true;
            }
            sampler.SampleOnce();
            return false;
        }, "self sampled");
        output.WriteLine($"{sampler.WatchedPids.Count} processes: first slot (open) {open.TotalMilliseconds:F1} ms, second slot {second.TotalMilliseconds:F1} ms, {published} samples");

        var self = sink.Samples.Where(s => s.entity.pid == Environment.ProcessId).ToList();
        output.WriteLine($"self: {self.Count} samples, values [{string.Join(", ", self.SelectMany(s => s.values.Keys))}], watched {sampler.WatchedPids.Contains(Environment.ProcessId)}, status [{string.Join(", ", sampler.CounterStatus)}]");
        Assert.Contains(sink.Samples, s => s.entity.pid == Environment.ProcessId && s.values.Count == 2);
        Assert.DoesNotContain(sink.Samples, s => s.entity.pid == 2);
        Assert.True(published >= sampler.WatchedPids.Count / 2, $"{published} samples for {sampler.WatchedPids.Count} processes");
    }

    private sealed class ListLogger : Microsoft.Extensions.Logging.ILogger
    {
        public List<(Microsoft.Extensions.Logging.LogLevel Level, string Message)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add((logLevel, formatter(state, exception)));
    }

    [Fact]
    public void Unsupported_counter_is_warned_about_once_and_never_published()
    {
        using var a = ChildProcess.Idle();
        using var b = ChildProcess.Idle();
        var logger = new ListLogger();
        var sink = new ListSink();
        using var sampler = new Sampler(new ProbeOptions { HostId = "h", Period = TimeSpan.FromMilliseconds(1), Counters = ["cycles", "cs"], Pids = [a.Pid, b.Pid] },
            TimeProvider.System, sink, logger);
        for (int i = 0; i < 3; i++)
        {
            sampler.SampleOnce();
        }

        string status = sampler.CounterStatus["cycles"];
        if (status == "ok")
        {
            Assert.All(sink.Samples, s => Assert.Contains("cycles", s.values.Keys)); // a machine with a PMU
            return;
        }
        Assert.StartsWith("unsupported:", status, StringComparison.Ordinal);
        Assert.Single(logger.Entries, e => e.Message.Contains("cycles", StringComparison.Ordinal));
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, logger.Entries.Single().Level);
        Assert.NotEmpty(sink.Samples);
        Assert.All(sink.Samples, s => Assert.Equal(["cs"], s.values.Keys));
    }

    [Fact]
    public void Invalid_options_throw_before_sampling() =>
        Assert.Throws<ArgumentException>(() => new Sampler(new ProbeOptions { Counters = ["nope"] }, TimeProvider.System, new ListSink()));
}
