using System.Diagnostics;
using System.Globalization;
using SafeHaven.Probes.Perf;
using SafeHaven.Probes.Proc;
using Xunit.Abstractions;

namespace SafeHaven.Probes.Tests.Perf;

/// <summary>
/// Issue 9, "the wrong suspect": a process's counters count its own threads, never the child
/// processes it forks after the counters were opened.
/// </summary>
public sealed class OwnThreadsTests(ITestOutputHelper output)
{
    /// <summary>Context switches as fast as Python can sleep: thousands a second.</summary>
    internal const string SwitchLoop = "import time\nwhile True: time.sleep(0.0002)";

    private static PerfEventSpec Spec(string name) =>
        CounterCatalog.TryResolve(name, out var s, out string e) ? s : throw new ArgumentException(e);

    /// <summary>
    /// An idle bash that, once told, forks <paramref name="childScript"/> in the background and
    /// waits for it: the parent itself does next to nothing while its child runs.
    /// </summary>
    internal static ChildProcess ForkingShell(string childScript) =>
        ChildProcess.Start("/bin/bash", "-c", $"read x; {ChildProcess.Python} -c '{childScript}' & wait");

    internal static IEnumerable<int> ChildPids(int pid)
    {
        try
        {
            return [.. File.ReadAllText($"/proc/{pid}/task/{pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(s => int.Parse(s, CultureInfo.InvariantCulture))];
        }
        catch (IOException)
        {
            return [];
        }
    }

    /// <summary>Waits until <paramref name="pid"/> sleeps and its counter stays still across a read.</summary>
    internal static Task Settled(ProcessCounters pc, string counter) =>
        Poll.Require(() => pc.Read().Values[counter] == 0 && ProcFs.Default.ReadStat(pc.Pid)?.State == 'S', $"{pc.Pid} idle");

    [Trait("Category", "Timing")]
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_child_forked_after_open_never_adds_to_its_idle_parent(bool perThreadFds)
    {
        using var parent = ForkingShell(SwitchLoop);
        // Opened before the child exists: with inherit=1 the kernel would hand the child a copy.
        var coverage = perThreadFds ? ThreadCoverage.PerThreadFds : ThreadCoverage.InheritThread;
        Assert.True(ProcessCounters.TryOpen(ProcFs.Default, parent.Pid, null, [Spec("cs")], out var parentPc, coverage: coverage));
        using var _ = parentPc;
        await Settled(parentPc, "cs");

        parent.Signal("go");
        int child = 0;
        await Poll.Require(() => (child = ChildPids(parent.Pid).FirstOrDefault()) != 0, "the forked child");
        // The child's own counters, opened separately: they must see the storm the parent must not.
        Assert.True(ProcessCounters.TryOpen(child, null, [Spec("cs")], out var childPc));
        using var __ = childPc;
        long parentCs = parentPc.Read().Values["cs"], childCs = 0;
        var sw = Stopwatch.StartNew();
        await Poll.Until(() =>
        {
            parentCs += parentPc.Read().Values["cs"];
            childCs += childPc.Read().Values["cs"];
            return sw.Elapsed >= TimeSpan.FromMilliseconds(500);
        }, TimeSpan.FromSeconds(5));

        double childRate = childCs / sw.Elapsed.TotalSeconds;
        output.WriteLine($"{coverage}: parent {parentCs} cs (from the fork on), child {childCs} cs ({childRate:F0}/s) in {sw.Elapsed.TotalMilliseconds:F0} ms");
        Assert.True(childRate > 500, $"child rate {childRate:F0}/s: no storm to tell apart");
        // bash's own fork and wait cost a handful of switches; the child's storm is thousands.
        Assert.True(parentCs <= 20, $"idle parent counted {parentCs} cs while its child made {childCs}");
    }

    [Trait("Category", "Timing")]
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Threads_created_after_open_are_counted_once_until_they_exit(bool perThreadFds)
    {
        // Four threads burn CPU for 0.4 s each and exit; the main thread only waits.
        using var child = ChildProcess.PythonScript("""
            import sys, threading, time
            sys.stdin.readline()
            stop = threading.Event()
            def burn():
                end = time.monotonic() + 0.4
                while time.monotonic() < end or not stop.is_set(): pass
            ts = [threading.Thread(target=burn) for _ in range(4)]
            for t in ts: t.start()
            sys.stdin.readline()
            stop.set()
            for t in ts: t.join()
            sys.stdin.readline()
            """);
        var coverage = perThreadFds ? ThreadCoverage.PerThreadFds : ThreadCoverage.InheritThread;
        Assert.True(ProcessCounters.TryOpen(ProcFs.Default, child.Pid, null, [Spec("task-clock")], out var pc, coverage: coverage));
        using var _ = pc;
        await Settled(pc, "task-clock");
        var before = ProcFs.Default.ReadStat(child.Pid)!.Value;

        child.Signal("go");
        long taskClockNs = 0;
        int threads() => ProcFs.Default.ListTasks(child.Pid).Count();
        int maxFds = 0;
        bool sawFive = false, stopped = false;
        await Poll.Require(() =>
        {
            taskClockNs += pc.Read().Values["task-clock"];
            maxFds = Math.Max(maxFds, pc.OpenFdCount);
            sawFive |= threads() >= 5;
            // The threads run until the test has seen them (and, per-thread, attached their fds): a poller starved
            // on a busy CI machine must not miss threads that lived only 0.4 s.
            if (sawFive && !stopped && (!perThreadFds || maxFds >= 5))
            {
                child.Signal("stop");
                stopped = true;
            }
            return stopped && threads() == 1;
        }, "four threads started and exited");
        taskClockNs += pc.Read().Values["task-clock"];
        var after = ProcFs.Default.ReadStat(child.Pid)!.Value;

        double procNs = (after.UTime + after.STime - before.UTime - before.STime) * 1e9 / PerfNative.ClockTicksPerSecond;
        output.WriteLine($"{coverage}: task-clock {taskClockNs / 1e6:F0} ms, /proc {procNs / 1e6:F0} ms, fds max {maxFds}, at end {pc.OpenFdCount}");
        // With inheritance the kernel counts the new threads into the main thread's fd; without it
        // each got one of its own, closed once it exited.
        Assert.Equal(perThreadFds ? 5 : 1, maxFds);
        Assert.Equal(1, pc.OpenFdCount);
        Assert.True(taskClockNs > 100e6, $"the threads' CPU time was not counted: {taskClockNs / 1e6:F0} ms");
        // Counted once: /proc's CPU time over the same span agrees (ticks are 10 ms).
        Assert.InRange(taskClockNs, procNs * 0.6 - 30e6, procNs * 1.4 + 30e6);
    }
}
