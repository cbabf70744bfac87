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
        var moveStarts = new List<long>();
        while (window.Elapsed < spec.Duration)
        {
            if (nextMove is { } due && window.Elapsed >= due)
            {
                moveStarts.Add(Stopwatch.GetTimestamp());
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
        // Local estimate: ops lost in the LocalSpan after each move against the rate of the span before it, as a
        // share of the window's work. Half the shortest period, so the spans of two moves never overlap.
        var span = TimeSpan.FromSeconds(Math.Min(5, (period ?? TimeSpan.FromSeconds(10)).TotalSeconds / 2));
        var lost = moveStarts.Select(t => log.LostAround(t, span)).Where(l => l is not null).Sum(l => l!.Value);
        var done = end.Ops - start.Ops;
        return new RunResult(level, period?.TotalSeconds ?? 0, period is not null, OpsLog.Rate(start, end),
            Stopwatch.GetElapsedTime(start.At, end.At).TotalSeconds, moves.Count, failures, moves, downtimes, loadStart, Load(),
            1 - (lost / (done + lost)));
    }

    /// <summary>The 1-minute load average.</summary>
    public static double Load() =>
        double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture);
}
