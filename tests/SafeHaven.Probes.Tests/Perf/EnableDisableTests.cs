using System.Diagnostics;
using SafeHaven.Probes.Perf;
using SafeHaven.Probes.Proc;
using Xunit.Abstractions;

namespace SafeHaven.Probes.Tests.Perf;

/// <summary>Counters opened disabled, as round-robin sampling uses them.</summary>
public sealed class EnableDisableTests(ITestOutputHelper output)
{
    private static PerfEventSpec Spec(string name) =>
        CounterCatalog.TryResolve(name, out var s, out string e) ? s : throw new ArgumentException(e);

    private static async Task<long> CountFor(ProcessCounters pc, string counter, TimeSpan window)
    {
        long n = 0;
        var sw = Stopwatch.StartNew();
        await Poll.Until(() => { n += pc.Read().Values[counter]; return sw.Elapsed >= window; }, window * 4);
        return n + pc.Read().Values[counter];
    }

    [Fact]
    public async Task Counts_only_between_enable_and_disable_including_threads_created_while_disabled()
    {
        // Main thread waits for a line, then starts four CPU-burning threads and joins them.
        using var child = ChildProcess.PythonScript("""
            import sys, threading
            sys.stdin.readline()
            def burn():
                while True: pass
            ts = [threading.Thread(target=burn) for _ in range(4)]
            for t in ts: t.start()
            for t in ts: t.join()
            """);
        Assert.True(ProcessCounters.TryOpen(child.Pid, null, [Spec("task-clock")], enabled: false, out var pc));
        using var _ = pc;
        Assert.False(pc.IsCounting);
        child.Signal("go");
        await Poll.Require(() => Directory.GetDirectories($"/proc/{child.Pid}/task").Length >= 5, "five threads");

        long whileDisabled = await CountFor(pc, "task-clock", TimeSpan.FromMilliseconds(200));
        var before = ProcFs.Default.ReadStat(child.Pid)!.Value;
        pc.Enable();
        Assert.True(pc.IsCounting);
        long whileEnabled = 0, procCpuMs = 0;
        // Until the threads got 200 ms of CPU by /proc's account, however loaded the machine is.
        await Poll.Require(() =>
        {
            whileEnabled += pc.Read().Values["task-clock"];
            var now = ProcFs.Default.ReadStat(child.Pid)!.Value;
            procCpuMs = (now.UTime + now.STime - before.UTime - before.STime) * 1000 / 100;
            return procCpuMs >= 200;
        }, "200 ms of CPU");
        pc.Disable();
        whileEnabled += pc.Read().Values["task-clock"];
        long whileDisabledAgain = await CountFor(pc, "task-clock", TimeSpan.FromMilliseconds(200));

        output.WriteLine($"task-clock: disabled {whileDisabled / 1e6:F1} ms, enabled {whileEnabled / 1e6:F1} ms (/proc: {procCpuMs} ms), disabled again {whileDisabledAgain / 1e6:F1} ms");
        Assert.Equal(0, whileDisabled);
        Assert.Equal(0, whileDisabledAgain);
        // The burning threads were created after open, while disabled: ENABLE reached their
        // inherited events, or only the joining main thread (≈0 CPU) would count. /proc ticks are
        // 10 ms and its window is a little wider than the enabled one.
        Assert.InRange(whileEnabled / 1e6, (procCpuMs * 0.6) - 30, (procCpuMs * 1.4) + 30);
    }

    [Fact]
    public async Task Disabled_counters_freeze_so_the_next_read_covers_only_the_next_enabled_span()
    {
        using var child = ChildProcess.PythonScript("import time\nwhile True: time.sleep(0.0005)");
        Assert.True(ProcessCounters.TryOpen(child.Pid, null, [Spec("context-switches")], enabled: false, out var pc));
        using var _ = pc;
        for (int round = 0; round < 3; round++)
        {
            pc.Enable();
            long on = await CountFor(pc, "context-switches", TimeSpan.FromMilliseconds(100));
            pc.Disable();
            on += pc.Read().Values["context-switches"];
            long off = await CountFor(pc, "context-switches", TimeSpan.FromMilliseconds(100));
            output.WriteLine($"round {round}: enabled {on}, disabled {off}");
            Assert.True(on > 30, $"round {round}: {on} switches while enabled");
            Assert.Equal(0, off);
        }
    }
}
