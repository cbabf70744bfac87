using CsCheck;
using SafeHaven.Probes.Perf;
using SafeHaven.Probes.Proc;
using Xunit.Abstractions;

namespace SafeHaven.Probes.Tests.Perf;

/// <summary>Counter overflow signals on this kernel: what early publication's wake-ups rest on.</summary>
public sealed class OverflowTests(ITestOutputHelper output)
{
    private static readonly PerfEventSpec ContextSwitches =
        CounterCatalog.TryResolve("context-switches", out var s, out _) ? s : throw new InvalidOperationException();

    [Fact]
    public void Fds_armed_with_the_period_for_a_remaining_count_cannot_all_stay_below_it_once_they_reach_it()
    {
        Gen.Select(Gen.Long[1, long.MaxValue / 4], Gen.Int[1, 4096]).Sample((remaining, fds) =>
        {
            long period = ProcessCounters.PeriodFor(remaining, fds);
            // Every fd one short of overflowing: together still below the remaining count (a wake-up is certain)...
            Assert.True((Int128)fds * (period - 1) < remaining, $"{fds} fds × {period - 1} ≥ {remaining}");
            // ...and one more would let them all reach it silently: the longest sleep that is safe.
            Assert.True((Int128)fds * period >= remaining, $"{fds} fds × {period} < {remaining}");
        });
    }

    [Fact]
    public void A_counter_armed_for_n_events_signals_once_they_are_counted_and_not_once_disarmed() => OwnThread.Run(() =>
    {
        using var child = ChildProcess.PythonScript("import sys, time\nsys.stdin.readline()\nwhile True: time.sleep(0.0002)");
        Assert.True(ProcessCounters.TryOpen(ProcFs.Default, child.Pid, null, [ContextSwitches], out var pc, overflow: true));
        using var counters = pc;
        using var signals = OverflowSignals.TryCreate(out string problem) ?? throw new InvalidOperationException(problem);
        var fds = new List<int>();
        // Python is still starting when the counter opens (and, on a loaded host, preempted often): arm only once it
        // sits in its read, asleep with no switch counted for 50 ms. A period set while its thread runs would signal
        // at its next event instead (the next test); the sampler handles that, this test asserts the exact case.
        var quietBy = DateTime.UtcNow.AddSeconds(120);
        for (long before = -1, now = counters.Peek(0); (now != before || ProcFs.Default.ReadStat(child.Pid)?.State != 'S') && DateTime.UtcNow < quietBy;
            before = now, now = counters.Peek(0))
        {
            signals.Wait(50_000_000, fds, out _); // nothing is armed yet: a bounded wait on the signalfd
        }
        fds.Clear();
        counters.Read();
        Assert.True(counters.Arm(0, 2000, signals));
        // Idle: a quarter of a second without a signal.
        signals.Wait(250_000_000, fds, out bool lost);
        Assert.Empty(fds);
        Assert.False(lost);

        child.Signal("go");
        // Only a guard against a hang: every bound below is a count of the child's switches, which at load 60 can
        // come at a tenth of their usual 3,000 a second.
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (fds.Count == 0 && DateTime.UtcNow < deadline)
        {
            signals.Wait(100_000_000, fds, out lost);
        }
        long atSignal = counters.Peek(0);
        output.WriteLine($"signal after {atSignal} switches (armed for 2000)");
        Assert.Equal(counters.FdsOf(0).Single(), Assert.Single(fds.Distinct()));
        // Armed 1/32 early (see ProcessCounters.Arm), never late.
        Assert.InRange(atSignal, 2000 - (2000 / 32), long.MaxValue);

        // Disarmed: the counter keeps counting (overflowing every 2000) and nothing signals, once an
        // overflow already on its way (queued before the disarm) has arrived.
        counters.Disarm(0);
        long settle = counters.Peek(0) + 2000;
        while (counters.Peek(0) < settle && DateTime.UtcNow < deadline)
        {
            signals.Wait(50_000_000, fds, out _);
        }
        signals.Wait(0, fds, out _);
        long from = counters.Peek(0);
        while (counters.Peek(0) < from + 6000 && DateTime.UtcNow < deadline)
        {
            signals.Wait(50_000_000, fds, out _);
            Assert.Empty(fds);
        }
        Assert.True(counters.Peek(0) >= from + 6000, "the child kept switching");
    });

    [Fact]
    public void A_period_set_while_the_counted_thread_runs_signals_at_its_next_event_and_then_reloads_the_old_one() => OwnThread.Run(() =>
    {
        // The counted thread sets its own counter's period, so the ioctl always meets it on a CPU: what happens
        // whenever the sampler arms a process that is running at that instant (ProcessCounters.Arm, remarks).
        using var signals = OverflowSignals.TryCreate(out string problem) ?? throw new InvalidOperationException(problem);
        int fd = PerfNative.Open(ContextSwitches, PerfNative.GetTid(), inheritThreads: true, samplePeriod: ProcessCounters.DisarmedPeriod);
        Assert.True(fd >= 0, $"perf_event_open: {PerfNative.ErrnoName(-fd)}");
        try
        {
            Assert.True(signals.Arm(fd));
            Assert.Equal(0, PerfNative.SetPeriod(fd, 100));
            Assert.True(PerfNative.TryRead(fd, out ulong start, out _, out _));
            var fds = new List<int>();
            var signalledAt = new List<ulong>();
            for (ulong now = start; now - start < 1000;)
            {
                PerfNative.SleepFor(TimeSpan.FromTicks(500)); // a voluntary context switch
                Assert.True(PerfNative.TryRead(fd, out now, out _, out _));
                signals.Wait(0, fds, out _);
                signalledAt.AddRange(fds.Select(_ => now - start));
            }
            output.WriteLine($"armed for 100 while running: signals after {string.Join(", ", signalledAt)} of 1000 switches");
            // Not every 100 switches: one overflow at once, then the period before the ioctl (2^62) reloaded.
            Assert.True(Assert.Single(signalledAt) < 100);
        }
        finally
        {
            _ = PerfNative.Close(fd);
        }
    });

    [Fact]
    public void Threads_created_after_the_open_cannot_be_armed() => OwnThread.Run(() =>
    {
        using var child = ChildProcess.PythonScript(
            "import sys, threading, time\nsys.stdin.readline()\nfor _ in range(3): threading.Thread(target=lambda: time.sleep(600), daemon=True).start()\ntime.sleep(600)");
        Assert.True(ProcessCounters.TryOpen(ProcFs.Default, child.Pid, null, [ContextSwitches], out var pc, overflow: true));
        using var counters = pc;
        using var signals = OverflowSignals.TryCreate(out string problem) ?? throw new InvalidOperationException(problem);
        Assert.True(counters.Arm(0, 1000, signals));
        // Still armed for a later window that needs as many events or more: no new ioctl needed, still true.
        Assert.True(counters.Arm(0, 1200, signals));
        child.Signal("go");
        var deadline = DateTime.UtcNow.AddSeconds(120);
        var none = new List<int>();
        while (ProcFs.Default.ReadStat(child.Pid)?.Threads < 4 && DateTime.UtcNow < deadline)
        {
            signals.Wait(20_000_000, none, out _);
        }
        counters.Read();
        // Each inherited thread overflows on its own count: no period can promise a wake-up for their sum.
        Assert.False(counters.Arm(0, 1000, signals));
        // Below the smallest period the kernel could throttle the event: refused too.
        Assert.False(counters.Arm(0, ProcessCounters.MinArmedPeriod - 1, signals));
    });

    [Fact]
    public async Task Counters_opened_for_overflow_count_what_plain_ones_count()
    {
        // Quiet while both counters open and once its 6,000 switches are done: both count exactly the same events
        // (a child switching all along made the result depend on how long the load kept the two opens apart).
        using var child = ChildProcess.PythonScript("import sys, time\nsys.stdin.readline()\nfor _ in range(6000): time.sleep(0.0002)\nsys.stdin.readline()");
        Assert.True(ProcessCounters.TryOpen(ProcFs.Default, child.Pid, null, [ContextSwitches], out var plain));
        Assert.True(ProcessCounters.TryOpen(ProcFs.Default, child.Pid, null, [ContextSwitches], out var sampling, overflow: true));
        using (plain)
        using (sampling)
        {
            await Poll.Require(() => ProcFs.Default.ReadStat(child.Pid)?.State == 'S', "the child asleep in its read", 120);
            long a = plain.Read().Values["context-switches"], b = sampling.Read().Values["context-switches"];
            output.WriteLine($"while opening: plain {a}, sampling {b}");
            a = b = 0;
            child.Signal("go");
            long da = 0, db = 0;
            // Until its switches are done and it sleeps in its second read: neither counter moves any more.
            await Poll.Require(() =>
            {
                a += da = plain.Read().Values["context-switches"];
                b += db = sampling.Read().Values["context-switches"];
                return a >= 6000 && da == 0 && db == 0 && ProcFs.Default.ReadStat(child.Pid)?.State == 'S';
            }, "6000 switches, then quiet", 120);
            output.WriteLine($"plain {a}, sampling {b}");
            Assert.InRange(b, a * 0.99, a * 1.01);
        }
    }
}
