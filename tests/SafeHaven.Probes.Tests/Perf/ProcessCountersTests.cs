using System.Globalization;
using System.Diagnostics;
using SafeHaven.Probes.Perf;
using SafeHaven.Probes.Proc;
using Xunit.Abstractions;

namespace SafeHaven.Probes.Tests.Perf;

public sealed class ProcessCountersTests(ITestOutputHelper output) : IDisposable
{
    private readonly List<IDisposable> _cleanup = [];

    public void Dispose()
    {
        foreach (var d in Enumerable.Reverse(_cleanup))
        {
            d.Dispose();
        }
    }

    private T Own<T>(T d) where T : IDisposable
    {
        _cleanup.Add(d);
        return d;
    }

    private static PerfEventSpec Spec(string name) =>
        CounterCatalog.TryResolve(name, out var s, out string e) ? s : throw new ArgumentException(e);

    private ProcessCounters Open(ChildProcess child, params string[] counters)
    {
        Assert.True(ProcessCounters.TryOpen(child.Pid, null, counters.Select(Spec), out var pc));
        return Own(pc);
    }

    /// <summary>Sums reads of both processes over the same ~wall-clock window.</summary>
    private async Task<(long Busy, long Idle, TimeSpan Window)> Measure(ProcessCounters busy, ProcessCounters idle, string counter, TimeSpan window)
    {
        // A freshly started shell still faults while it loads: wait until it really idles.
        await Poll.Require(() => idle.Read().Values[counter] == 0 && ProcFs.Default.ReadStat(idle.Pid)?.State == 'S', "idle child settled");
        busy.Read();
        idle.Read();
        var sw = Stopwatch.StartNew();
        long b = 0, i = 0;
        await Poll.Until(() =>
        {
            b += busy.Read().Values[counter];
            i += idle.Read().Values[counter];
            return sw.Elapsed >= window;
        }, window * 4);
        output.WriteLine($"{counter}: busy {b / sw.Elapsed.TotalSeconds:F0}/s, idle {i / sw.Elapsed.TotalSeconds:F0}/s over {sw.Elapsed.TotalMilliseconds:F0} ms");
        return (b, i, sw.Elapsed);
    }

    [Fact]
    public async Task A_reset_counter_counts_from_zero_instead_of_wrapping()
    {
        using var busyChild = ChildProcess.PythonScript("import time\nwhile True: time.sleep(0.0002)");
        var busy = Open(busyChild, "context-switches");
        long seen = 0;
        await Poll.Require(() => (seen += busy.Read().Values["context-switches"]) > 100, "busy child switching");

        busy.ResetCounts();
        var afterReset = busy.Read().Values["context-switches"];

        // Without the guard, value − previous wraps to ~1.8e19 and lands as a huge or negative long.
        Assert.InRange(afterReset, 0, 1_000_000);
    }

    [Trait("Category", "Timing")]
    [Fact]
    public async Task Context_switches_of_a_sleeping_loop_far_exceed_an_idle_process()
    {
        using var busyChild = ChildProcess.PythonScript("import time\nwhile True: time.sleep(0.0002)");
        using var idleChild = ChildProcess.Idle();
        var busy = Open(busyChild, "context-switches");
        var idle = Open(idleChild, "context-switches");
        Assert.Equal(ProcessCounters.StatusOk, busy.Status["context-switches"]);

        var (b, i, window) = await Measure(busy, idle, "context-switches", TimeSpan.FromMilliseconds(400));

        double rate = b / window.TotalSeconds;
        Assert.True(rate > 500, $"busy rate {rate:F0}/s");
        Assert.True(b > 50 * (i + 1), $"busy {b} vs idle {i}");
    }

    [Trait("Category", "Timing")]
    [SkippableFact]
    public async Task Context_switches_of_stress_ng_switch()
    {
        Skip.IfNot(File.Exists("/usr/bin/stress-ng"), "stress-ng is not installed (apt-get install stress-ng)");
        using var busyChild = ChildProcess.Start("/usr/bin/stress-ng", "--switch", "1", "--timeout", "60s", "--quiet");
        using var idleChild = ChildProcess.Idle();
        // stress-ng forks its worker after start: wait for it, then count the whole tree's worker.
        int worker = 0;
        await Poll.Require(() => (worker = ChildPids(busyChild.Pid).FirstOrDefault()) != 0, "stress-ng worker");
        Assert.True(ProcessCounters.TryOpen(worker, null, [Spec("cs")], out var busy));
        Own(busy);
        var idle = Open(idleChild, "cs");

        var (b, i, window) = await Measure(busy, idle, "cs", TimeSpan.FromMilliseconds(300));

        Assert.True(b / window.TotalSeconds > 10_000, $"stress-ng --switch rate {b / window.TotalSeconds:F0}/s");
        Assert.True(b > 100 * (i + 1), $"busy {b} vs idle {i}");
    }

    private static IEnumerable<int> ChildPids(int pid) =>
        File.ReadAllText($"/proc/{pid}/task/{pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture));

    /// <summary>
    /// Maps, writes and unmaps 8 MiB in a loop: every 4 KiB page faults once per round. (A plain
    /// bytes allocation stops faulting after a few rounds: glibc raises its mmap threshold and
    /// reuses the heap.)
    /// </summary>
    internal const string FaultLoop = "import mmap\nbuf = b'x' * (8 << 20)\nwhile True:\n m = mmap.mmap(-1, len(buf))\n m.write(buf)\n m.close()";

    [Trait("Category", "Timing")]
    [Fact]
    public async Task Page_faults_of_an_allocating_loop_far_exceed_an_idle_process()
    {
        using var busyChild = ChildProcess.PythonScript(FaultLoop);
        using var idleChild = ChildProcess.Idle();
        var busy = Open(busyChild, "page-faults", "minor-faults");
        var idle = Open(idleChild, "page-faults", "minor-faults");

        var (b, i, window) = await Measure(busy, idle, "page-faults", TimeSpan.FromMilliseconds(400));

        Assert.True(b / window.TotalSeconds > 5_000, $"page-fault rate {b / window.TotalSeconds:F0}/s");
        Assert.True(b > 50 * (i + 1), $"busy {b} vs idle {i}");
    }

    [Trait("Category", "Timing")]
    [Fact]
    public async Task Threads_created_after_open_are_counted_once_through_inheritance()
    {
        // Main thread blocks on stdin until told to start four CPU-burning threads, then joins them.
        using var child = ChildProcess.PythonScript("""
            import sys, threading
            sys.stdin.readline()
            def burn():
                while True: pass
            ts = [threading.Thread(target=burn) for _ in range(4)]
            for t in ts: t.start()
            for t in ts: t.join()
            """);
        var pc = Open(child, "task-clock");
        int fdsAtOpen = pc.OpenFdCount;
        pc.Read();
        var before = ProcFs.Default.ReadStat(child.Pid)!.Value;

        child.Signal("go");
        await Poll.Require(() => Directory.GetDirectories($"/proc/{child.Pid}/task").Length >= 5, "five threads");
        long taskClockNs = 0;
        var sw = Stopwatch.StartNew();
        await Poll.Until(() => { taskClockNs += pc.Read().Values["task-clock"]; return sw.Elapsed > TimeSpan.FromMilliseconds(500); }, TimeSpan.FromSeconds(5));
        taskClockNs += pc.Read().Values["task-clock"];
        var after = ProcFs.Default.ReadStat(child.Pid)!.Value;

        output.WriteLine($"task-clock {taskClockNs / 1e6:F0} ms, /proc utime+stime {(after.UTime + after.STime - before.UTime - before.STime) * 10} ms, wall {sw.Elapsed.TotalMilliseconds:F0} ms, fds {fdsAtOpen}");
        // The new threads ran (the main thread only waited), and the kernel, not extra fds, counted them.
        Assert.Equal(fdsAtOpen, pc.OpenFdCount);
        Assert.True(taskClockNs > sw.Elapsed.Ticks * 100 / 4, $"task-clock {taskClockNs / 1e6:F0} ms in {sw.Elapsed.TotalMilliseconds:F0} ms");
        // Counted once: /proc's CPU time over about the same window agrees (ticks are 10 ms).
        double procNs = (after.UTime + after.STime - before.UTime - before.STime) * 1e9 / 100;
        Assert.InRange(taskClockNs, procNs * 0.6 - 30e6, procNs * 1.4 + 30e6);
    }

    [Fact]
    public void A_process_that_exits_between_two_reads_is_reported_gone()
    {
        var child = Own(ChildProcess.Idle());
        var pc = Open(child, "context-switches", "page-faults");
        Assert.Equal(CounterReadOutcome.Ok, pc.Read().Outcome);

        child.KillAndWait();
        var reading = pc.Read();

        Assert.Equal(CounterReadOutcome.ProcessGone, reading.Outcome);
        Assert.False(ProcessCounters.TryOpen(child.Pid, null, [Spec("context-switches")], out _));
    }

    [Fact]
    public void A_reused_pid_is_not_the_same_process()
    {
        using var child = ChildProcess.Idle();
        long start = ProcFs.Default.ReadStat(child.Pid)!.Value.StartTime;
        Assert.False(ProcessCounters.TryOpen(child.Pid, start + 1, [Spec("page-faults")], out _));
        Assert.True(ProcessCounters.TryOpen(child.Pid, start, [Spec("page-faults")], out var pc));
        pc.Dispose();
    }

    [Fact]
    public async Task Unsupported_hardware_counter_gets_a_status_not_zeros()
    {
        using var child = ChildProcess.Start("/bin/sh", "-c", "while :; do :; done");
        var pc = Open(child, "cycles", "context-switches");
        var reading = pc.Read();

        string status = pc.Status["cycles"];
        output.WriteLine($"cycles: {status}");
        if (status == ProcessCounters.StatusOk)
        {
            // A machine with a PMU: then cycles of a CPU loop must really count.
            long cycles = 0;
            await Poll.Require(() => (cycles += pc.Read().Values["cycles"]) > 1_000_000, "cycles counted");
        }
        else
        {
            Assert.StartsWith("unsupported: hardware event not supported by this CPU/PMU (", status, StringComparison.Ordinal);
            Assert.DoesNotContain("cycles", reading.Values.Keys);
            Assert.Contains("context-switches", reading.Values.Keys);
            Assert.Equal(ProcessCounters.StatusOk, pc.Status["context-switches"]);
        }
    }

    [SkippableFact]
    public async Task Tracepoint_counts_sched_switch()
    {
        Skip.IfNot(CounterCatalog.TryResolve("tp:sched:sched_switch", out var spec, out string error), error);
        using var child = ChildProcess.PythonScript("import time\nwhile True: time.sleep(0.0005)");
        Assert.True(ProcessCounters.TryOpen(child.Pid, null, [spec], out var pc));
        Own(pc);
        Assert.Equal(ProcessCounters.StatusOk, pc.Status[spec.Name]);
        long n = 0;
        await Poll.Require(() => (n += pc.Read().Values[spec.Name]) > 100, "sched_switch events");
    }
}
