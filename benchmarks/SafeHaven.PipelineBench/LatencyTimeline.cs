using System.Globalization;

namespace SafeHaven.PipelineBench;

/// <summary>
/// Where in a long latency run the slow crossings fell. Streamiz refreshes cached topic metadata every
/// <c>topic.metadata.refresh.interval.ms</c> (5 min), so a stall on the stream thread would show at the 5-minute marks.
/// </summary>
internal static class LatencyTimeline
{
    /// <summary>Prints the worst and median latency of every <paramref name="bucketSeconds"/> of the run, then the slowest crossings.</summary>
    /// <param name="name">The hop measured.</param>
    /// <param name="hop">(sample sequence number, latency in ms); sample <c>seq</c> was produced at <c>seq / rate</c> s.</param>
    /// <param name="rate">Samples per second.</param>
    /// <param name="bucketSeconds">Width of a bucket.</param>
    public static void Print(string name, IReadOnlyList<(long Seq, double Ms)> hop, int rate, int bucketSeconds = 30)
    {
        if (hop.Count == 0)
        {
            return;
        }
        double At(long seq) => (double)seq / rate;
        Console.WriteLine($"{name} by time of the run (s after the first sample): worst / median / n per {bucketSeconds} s");
        foreach (var bucket in hop.GroupBy(x => (int)(At(x.Seq) / bucketSeconds)).OrderBy(g => g.Key))
        {
            var ms = bucket.Select(x => x.Ms).Order().ToList();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {bucket.Key * bucketSeconds,4}-{(bucket.Key + 1) * bucketSeconds,4} s: worst {ms[^1]:F1} ms, median {Bench.Percentile(ms, 50):F1} ms, n={ms.Count}"));
        }
        var slowest = hop.OrderByDescending(x => x.Ms).Take(10)
            .Select(x => string.Create(CultureInfo.InvariantCulture, $"{x.Ms:F1} ms at {At(x.Seq):F1} s"));
        Console.WriteLine($"{name}, the 10 slowest crossings: {string.Join("; ", slowest)}");
    }
}
