using System.Diagnostics;
using System.Globalization;
using SafeHaven.Probes.Proc;
using SafeHaven.Schemas;

using Xunit.Abstractions;

namespace SafeHaven.Probes.Tests;

/// <summary>
/// Figures for docs/PERFORMANCE.md, not a test: probe CPU and sampling jitter for 200 idle processes
/// at a 1 s period, all at once and round-robin. Excluded from CI (Category=Measure). Run with
/// <c>dotnet test tests/SafeHaven.Probes.Tests -c Release --filter Category=Measure --logger "console;verbosity=detailed"</c>;
/// SAFEHAVEN_MEASURE_SECONDS sets the measured span per mode (default 30).
/// </summary>
public sealed class ProbeOverheadMeasurement(ITestOutputHelper output)
{
    private sealed class WindowSink : ISampleSink
    {
        public List<long> IntervalsNs { get; } = [];

        // Keeps only the window length: the sink costs next to nothing, like a discarding one.
        public void Publish(CounterSample sample)
        {
            lock (IntervalsNs)
            {
                IntervalsNs.Add(sample.intervalNs);
            }
        }
    }

    [Fact]
    [Trait("Category", "Measure")]
    public async Task Cpu_and_jitter_for_200_processes_at_1s()
    {
        int seconds = int.TryParse(Environment.GetEnvironmentVariable("SAFEHAVEN_MEASURE_SECONDS"), CultureInfo.InvariantCulture, out int s) ? s : 30;
        var children = Enumerable.Range(0, 200).Select(_ => Process.Start(new ProcessStartInfo("/bin/sleep", "600") { UseShellExecute = false })!).ToList();
        try
        {
            output.WriteLine($"load before: {File.ReadAllText("/proc/loadavg").Trim()}");
            output.WriteLine("| mode | slots/period | sampling thread CPU (% of one core) | whole test process CPU (%) | slot start lateness p50 / p99 / max (ms) | window p1 / p50 / p99 (ms) | samples/s | loop wake-ups/s |");
            output.WriteLine("|---|---|---|---|---|---|---|---|");
            await MeasureBaseline(TimeSpan.FromSeconds(seconds));
            foreach (int max in new[] { 0, 8, 1 })
            {
                await MeasureMode([.. children.Select(c => c.Id)], max, TimeSpan.FromSeconds(seconds));
            }
            // Early publication: the rules watch context-switches; the kernel signals their overflow (the
            // default), or a fine tick reads them every 20 ms (and 50 ms) between ticks.
            await MeasureMode([.. children.Select(c => c.Id)], 0, TimeSpan.FromSeconds(seconds), TimeSpan.FromMilliseconds(20), overflow: true);
            await MeasureMode([.. children.Select(c => c.Id)], 0, TimeSpan.FromSeconds(seconds), TimeSpan.FromMilliseconds(20));
            await MeasureMode([.. children.Select(c => c.Id)], 0, TimeSpan.FromSeconds(seconds), TimeSpan.FromMilliseconds(50));
            output.WriteLine($"load after: {File.ReadAllText("/proc/loadavg").Trim()}");
        }
        finally
        {
            foreach (var c in children)
            {
                c.Kill();
                await c.WaitForExitAsync();
                c.Dispose();
            }
        }
    }

    /// <summary>
    /// CPU per operation, measured in tight loops on this thread: what the figures above are made
    /// of, and much less sensitive to the machine's load than the 30 s runs.
    /// </summary>
    [Fact]
    [Trait("Category", "Measure")]
    public async Task Cost_per_operation_for_200_processes()
    {
        var children = Enumerable.Range(0, 200).Select(_ => Process.Start(new ProcessStartInfo("/bin/sleep", "600") { UseShellExecute = false })!).ToList();
        try
        {
            int[] pids = [.. children.Select(c => c.Id)];
            var discovery = new ProcessDiscovery(pids);
            // Twice, the first round discarded: tier-1 JIT recompiles hot methods on a background
            // thread during the first seconds, and process CPU would charge it to the first loop.
            _ = CpuMsPer(100, () => discovery.Discover());
            double discover = CpuMsPer(100, () => discovery.Discover());

            var all = new ProbeOptions { HostId = "h", Period = TimeSpan.FromMilliseconds(1), Pids = pids };
            using var once = new Sampler(all, TimeProvider.System, new WindowSink());
            once.SampleOnce();
            _ = CpuMsPer(50, () => once.SampleOnce());
            double sampleOnce = CpuMsPer(100, () => once.SampleOnce());

            var early = new ProbeOptions { HostId = "h", Period = TimeSpan.FromSeconds(1), Pids = pids, Counters = ["context-switches"], Rules = StormRule() };
            using var fine = new Sampler(early, TimeProvider.System, new WindowSink());
            fine.SampleOnce();
            long due = TimeProvider.System.GetTimestamp() + 3600 * TimeProvider.System.TimestampFrequency;
            _ = CpuMsPer(200, () => fine.PublishEarly(due));
            double fineTick = CpuMsPer(2000, () => fine.PublishEarly(due));

            // A regular tick with overflow arming (an ioctl only where a window needs an earlier overflow), against
            // the same tick without: periods of 2 ms so that every call reads, ε scaled so the trigger count is 2000.
            var armedOptions = new ProbeOptions
            {
                HostId = "h", Period = TimeSpan.FromMilliseconds(2), FineTick = TimeSpan.FromMilliseconds(1), Pids = pids,
                Counters = ["context-switches"], Rules = StormRule(1_000_000),
            };
            double plainTick = 0, armedTick = 0;
            var own = new Thread(() =>
            {
                using var plain = new Sampler(new ProbeOptions { HostId = "h", Period = TimeSpan.FromMilliseconds(2), Pids = pids, Counters = ["context-switches"] }, TimeProvider.System, new WindowSink());
                plain.SampleOnce();
                _ = CpuMsPer(50, () => plain.SampleOnce());
                plainTick = CpuMsPer(100, () => plain.SampleOnce());
                using var armed = new Sampler(armedOptions, TimeProvider.System, new WindowSink());
                armed.SampleOnce();
                using var signals = SafeHaven.Probes.Perf.OverflowSignals.TryCreate(out string problem) ?? throw new InvalidOperationException(problem);
                armed.StartOverflow(signals);
                _ = CpuMsPer(50, () => armed.SampleOnce());
                armedTick = CpuMsPer(100, () => armed.SampleOnce());
                Assert.False(armed.NeedsFineTick);
                armed.StopOverflow();
            });
            own.Start();
            own.Join();

            var rr = new ProbeOptions { HostId = "h", Period = TimeSpan.FromSeconds(1), Pids = pids, MaxConcurrentProcesses = 1 };
            using var slots = new Sampler(rr, TimeProvider.System, new WindowSink());
            slots.Refresh();
            var groups = RoundRobinScheduler.Plan(slots.Snapshot(), 1);
            IReadOnlyList<WatchedProcess> counting = [];
            int next = 0;
            _ = CpuMsPer(2000, () => counting = slots.SwitchSlot(counting, groups[next++ % groups.Count]));
            double switchSlot = CpuMsPer(4000, () => counting = slots.SwitchSlot(counting, groups[next++ % groups.Count]));
            double awaited = await CpuMsPerAsync(2000, () => Task.Delay(TimeSpan.FromMilliseconds(1)));
            double slept = CpuMsPer(2000, () => SafeHaven.Probes.Perf.PerfNative.SleepFor(TimeSpan.FromMilliseconds(1)));

            output.WriteLine($"load: {File.ReadAllText("/proc/loadavg").Trim()}");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
                | operation (200 idle processes, 2 counters) | CPU per operation (ms) | per second at a 1 s period (% of one core) |
                |---|---|---|
                | discovery (stat + cgroup of 200 pids) | {discover:F2} | {discover / 10:F2} |
                | all at once: one period (200 reads + discovery) | {sampleOnce:F2} | {sampleOnce / 10:F2} |
                | early publication: one fine tick (200 peeks of context-switches, none due) | {fineTick:F3} | {fineTick * 50 / 10:F2} (50 ticks, 20 ms) |
                | one period, 1 counter, no early publication (200 reads + discovery) | {plainTick:F2} | {plainTick / 10:F2} |
                | one period, 1 counter, overflow armed (quiet processes keep their period: no ioctl) | {armedTick:F2} | {armedTick / 10:F2} |
                | round-robin: one slot switch (end + publish + begin) | {switchSlot:F3} | {switchSlot * 200 / 10:F2} (200 slots) |
                | one wake-up, awaited .NET timer (await Task.Delay 1 ms) | {awaited:F3} | {awaited * 200 / 10:F2} (200 slots) |
                | one wake-up, kernel sleep on a dedicated thread (clock_nanosleep 1 ms, as the slot loop) | {slept:F3} | {slept * 200 / 10:F2} (200 slots) |
                """));
        }
        finally
        {
            foreach (var c in children)
            {
                c.Kill();
                await c.WaitForExitAsync();
                c.Dispose();
            }
        }
    }

    private static double CpuMsPer(int n, Action action)
    {
        action(); // JIT and caches
        var before = Process.GetCurrentProcess().TotalProcessorTime;
        for (int i = 0; i < n; i++)
        {
            action();
        }
        return (Process.GetCurrentProcess().TotalProcessorTime - before).TotalMilliseconds / n;
    }

    private static async Task<double> CpuMsPerAsync(int n, Func<Task> action)
    {
        await action();
        var before = Process.GetCurrentProcess().TotalProcessorTime;
        for (int i = 0; i < n; i++)
        {
            await action();
        }
        return (Process.GetCurrentProcess().TotalProcessorTime - before).TotalMilliseconds / n;
    }

    /// <summary>The test host's own CPU with no sampler: what the figures below include besides the probe.</summary>
    private async Task MeasureBaseline(TimeSpan measured)
    {
        long cpu0 = SelfCpuTicks();
        var wall = Stopwatch.StartNew();
        await Elapse(measured);
        double cpuPercent = (SelfCpuTicks() - cpu0) * 100.0 / ProcTicksPerSecond / wall.Elapsed.TotalSeconds;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| no sampler (test host baseline) | - | - | {cpuPercent:F2} | - | - | - | - |"));
    }

    private static SafeHaven.Core.Rules.RuleSet StormRule(double threshold = 2000) =>
        new([new SafeHaven.Core.Rules.Rule("storm", "context-switches", threshold, "core", 1, TimeSpan.FromSeconds(30), threshold / 2)], "measure");

    private async Task MeasureMode(int[] pids, int max, TimeSpan measured, TimeSpan? fineTick = null, bool overflow = false)
    {
        var options = new ProbeOptions { HostId = "h", Period = TimeSpan.FromSeconds(1), MaxConcurrentProcesses = max, Pids = pids, OverflowWake = overflow };
        if (fineTick is { } tick)
        {
            options.Rules = StormRule();
            options.FineTick = tick;
        }
        var sink = new WindowSink();
        using var sampler = new Sampler(options, TimeProvider.System, sink);
        using var cts = new CancellationTokenSource();
        var run = sampler.RunAsync(cts.Token);
        // Warm-up: the first periods open 200 × 2 counters and JIT the paths.
        await Elapse(TimeSpan.FromSeconds(5));
        Assert.Equal(pids.Length, sampler.WatchedPids.Count);
        lock (sink.IntervalsNs)
        {
            sink.IntervalsNs.Clear();
        }
        sampler.Timings.Clear();
        long cpu0 = SelfCpuTicks();
        var wall = Stopwatch.StartNew();
        await Elapse(measured);
        long cpu1 = SelfCpuTicks();
        var elapsed = wall.Elapsed;
        double threadPercent = sampler.Timings.CpuNs / 1e7 / elapsed.TotalSeconds;
        double wakeUps = sampler.Timings.WakeUps / elapsed.TotalSeconds;
        var early = sampler.EarlyMode;
        await cts.CancelAsync();
        await run;

        double cpuPercent = (cpu1 - cpu0) * 100.0 / ProcTicksPerSecond / elapsed.TotalSeconds;
        long[] late = [.. sampler.Timings.LatenessNs().Order()];
        long[] windows;
        lock (sink.IntervalsNs)
        {
            windows = [.. sink.IntervalsNs.Order()];
        }
        string mode = fineTick is { } t
            ? early == EarlyWake.Overflow ? $"all at once + overflow signals (fine tick {t.TotalMilliseconds:F0} ms for what they cannot cover)" : $"all at once + fine tick {t.TotalMilliseconds:F0} ms ({early})"
            : max == 0 ? "all at once" : $"round-robin, max {max}";
        int slots = max == 0 ? 1 : (pids.Length + max - 1) / max;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {mode} | {slots} | {threadPercent:F2} | {cpuPercent:F2} | {Pct(late, 0.5)} / {Pct(late, 0.99)} / {Pct(late, 1)} | {Pct(windows, 0.01)} / {Pct(windows, 0.5)} / {Pct(windows, 0.99)} | {windows.Length / elapsed.TotalSeconds:F0} | {(max == 0 && fineTick is not null ? wakeUps.ToString("F1", CultureInfo.InvariantCulture) : "-")} |"));
    }

    /// <summary>A measurement spans a fixed time by design; one timer, no polling that would add CPU.</summary>
    private static Task Elapse(TimeSpan span)
    {
        var done = new TaskCompletionSource();
        var timer = new Timer(_ => done.TrySetResult(), null, span, Timeout.InfiniteTimeSpan);
        return done.Task.ContinueWith(_ => timer.Dispose(), TaskScheduler.Default);
    }

    private static string Pct(long[] sortedNs, double q) =>
        sortedNs.Length == 0 ? "-" : (sortedNs[(int)Math.Min(sortedNs.Length - 1, q * sortedNs.Length)] / 1e6).ToString("F2", CultureInfo.InvariantCulture);

    private const double ProcTicksPerSecond = 100; // USER_HZ

    /// <summary>utime + stime of this whole process (every probe thread, GC and runtime included).</summary>
    private static long SelfCpuTicks()
    {
        var stat = ProcFs.Default.ReadStat(Environment.ProcessId)!.Value;
        return stat.UTime + stat.STime;
    }
}
