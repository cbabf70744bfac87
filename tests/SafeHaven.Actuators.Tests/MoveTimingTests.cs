using SafeHaven.Actuators.Cpu;
using SafeHaven.Core;
using Xunit.Abstractions;

namespace SafeHaven.Actuators.Tests;

/// <summary>Measures isolation moves; reports, never asserts timings.</summary>
public sealed class MoveTimingTests(ITestOutputHelper output) : IDisposable
{
    private readonly CgroupV1Cpuset _cpusets = new(parentName: Host.UniqueName());
    private BusyProcess? _process;

    [SkippableFact]
    [Trait("Category", "Measure")]
    public void Median_isolate_time_over_50_moves_of_a_4_thread_busy_process()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        _process = new BusyProcess(threads: 4);
        var isolator = new CoreIsolator(_cpusets);
        var enrol = isolator.Enrol(_process.Pid, Host.Cpu0);
        Assert.True(enrol.Succeeded, enrol.Error);
        output.WriteLine($"enrol (5 threads, tasks writes): {Ms(enrol.PhasesNs["enrol"])} ms");

        var outcomes = new List<CoreMoveOutcome>();
        for (var i = 0; i < 50; i++)
        {
            var outcome = isolator.Isolate(_process.Pid, i % 2 == 0 ? Host.Cpu1 : Host.Cpu0);
            Assert.True(outcome.Succeeded, outcome.Error);
            outcomes.Add(outcome);
        }
        output.WriteLine($"isolate total: median {Ms(Median(outcomes.Select(o => o.TotalNs)))} ms, max {Ms(outcomes.Max(o => o.TotalNs))} ms");
        foreach (var phase in (string[])["cpuset", "affinity", "verify"])
        {
            output.WriteLine($"  {phase}: median {Ms(Median(outcomes.Select(o => o.PhasesNs[phase])))} ms");
        }
    }

    private static long Median(IEnumerable<long> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    private static string Ms(long ns) => (ns / 1e6).ToString("0.000", System.Globalization.CultureInfo.InvariantCulture);

    public void Dispose()
    {
        _process?.Dispose();
        if (Host.CanRun)
        {
            _cpusets.Cleanup();
        }
    }
}
