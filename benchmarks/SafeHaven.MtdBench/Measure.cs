using System.Diagnostics;
using System.Globalization;

namespace SafeHaven.MtdBench;

/// <summary>The measurement window shared by every level.</summary>
internal static class Measure
{
    /// <summary>
    /// Waits for the first progress line and the warm-up, then reads throughput over <see cref="RunSpec.Duration"/>,
    /// calling <paramref name="move"/> every <paramref name="period"/> from the window's start (never when null).
    /// </summary>
    public static async Task<RunResult> WindowAsync(string level, RunSpec spec, TimeSpan? period, OpsLog log, Func<Task> setup,
        Func<Task> move, Func<(List<double> Moves, List<double> Downtimes, int Failures)> costs, CancellationToken ct)
    {
        await setup();
        var boot = Stopwatch.StartNew();
        while (log.Last is null)
        {
            if (boot.Elapsed > TimeSpan.FromSeconds(300))
            {
                throw new TimeoutException($"{level}: no progress line from the workload within 300 s");
            }
            await Task.Delay(50, ct);
        }
        await Task.Delay(spec.Warmup, ct);
        var loadStart = Load();
        var start = log.Last!.Value;
        var window = Stopwatch.StartNew();
        var nextMove = period;
        while (window.Elapsed < spec.Duration)
        {
            if (nextMove is { } due && window.Elapsed >= due)
            {
                await move();
                nextMove = due + period!.Value;
            }
            await Task.Delay(20, ct);
        }
        // The first line written after the window closed ends it.
        var closed = log.Last!.Value;
        while (log.Last!.Value.Ops == closed.Ops)
        {
            await Task.Delay(10, ct);
        }
        var end = log.Last!.Value;
        var (moves, downtimes, failures) = costs();
        return new RunResult(level, period?.TotalSeconds ?? 0, period is not null, OpsLog.Rate(start, end),
            Stopwatch.GetElapsedTime(start.At, end.At).TotalSeconds, moves.Count, failures, moves, downtimes, loadStart, Load());
    }

    /// <summary>The 1-minute load average.</summary>
    public static double Load() =>
        double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture);
}
