using System.Diagnostics;
using System.Globalization;
using SafeHaven.Kafka.Clients;
using SafeHaven.Probes.Perf;

namespace SafeHaven.Probes.Tests.Perf;

/// <summary>
/// Runs <c>perf stat -I 250</c> on some pids while the probe reads its own counters of them in
/// step, and returns both totals over the same 3 s.
/// </summary>
internal static class PerfStatRun
{
    public const string StressNg = "/usr/bin/stress-ng", Perf = "/usr/bin/perf";

    /// <summary>What each tool counted per event over the aligned window.</summary>
    public sealed record Totals(IReadOnlyDictionary<string, long> Perf, IReadOnlyDictionary<string, long> Probe);

    /// <summary>
    /// Runs perf on <paramref name="pids"/> for <paramref name="events"/> (plus <paramref name="perfOptions"/>)
    /// and sums <paramref name="probe"/>'s reads over the same intervals.
    /// </summary>
    public static async Task<Totals> Run(IReadOnlyList<ProcessCounters> probe, IReadOnlyList<int> pids, string[] events, params string[] perfOptions)
    {
        // Window alignment: perf prints one line per event every 250 ms, the moment it has read
        // its counters; the probe reads its own when the first line of an interval arrives. perf's
        // intervals 2..13 then cover the same 3 s as the probe's reads at intervals 1 and 13, give
        // or take the (similar) delivery delay of two lines.
        var psi = new ProcessStartInfo(Perf) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string a in new[] { "stat", "-x,", "-I", "250", "--interval-count", "13", "-e", string.Join(',', events) }
            .Concat(perfOptions).Concat(["-p", string.Join(',', pids)]))
        {
            psi.ArgumentList.Add(a);
        }
        var perfCounts = new Dictionary<string, List<long>>(StringComparer.Ordinal);
        var probeAtLine = new List<Dictionary<string, long>>();
        var probeTotal = events.ToDictionary(e => e, _ => 0L, StringComparer.Ordinal);
        var other = new List<string>();
        using var perf = Process.Start(psi)!;
        // Its own thread: the probe reads its counters when perf's line arrives, not when the pool gets round to it.
        var reader = ConsumeLoop.OnOwnThread(() =>
        {
            string? lastTime = null;
            while (perf.StandardError.ReadLine() is { } line)
            {
                string[] f = line.Split(',');
                if (f.Length < 4 || !events.Contains(f[3]))
                {
                    other.Add(line);
                    continue;
                }
                if (f[0] != lastTime)
                {
                    lastTime = f[0];
                    foreach (var pc in probe)
                    {
                        foreach (var (name, v) in pc.Read().Values)
                        {
                            probeTotal[name] += v;
                        }
                    }
                    probeAtLine.Add(new Dictionary<string, long>(probeTotal, StringComparer.Ordinal));
                }
                // "<not counted>": the counters never ran in this interval (no traced task was scheduled, e.g.
                // on a machine busy with other tests), so no event happened that both tools could count.
                long value = 0;
                Assert.True(f[1] == "<not counted>" || long.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out value), $"perf: {line}");
                (perfCounts.TryGetValue(f[3], out var list) ? list : perfCounts[f[3]] = []).Add(value);
            }
        }, CancellationToken.None);
        await reader.WaitAsync(TimeSpan.FromSeconds(30));
        await perf.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(perf.ExitCode == 0 && probeAtLine.Count == 13, $"perf exit {perf.ExitCode}, {probeAtLine.Count} intervals: {string.Join(" | ", other)}");
        return new Totals(
            events.ToDictionary(e => e, e => perfCounts[e].Skip(1).Sum(), StringComparer.Ordinal),
            events.ToDictionary(e => e, e => probeAtLine[^1][e] - probeAtLine[0][e], StringComparer.Ordinal));
    }

    /// <summary>Skips unless stress-ng (when <paramref name="needsStressNg"/>), perf and root are there.</summary>
    public static void SkipUnlessAvailable(bool needsStressNg)
    {
        Skip.If(needsStressNg && !File.Exists(StressNg), "stress-ng is not installed (apt-get install stress-ng)");
        Skip.IfNot(File.Exists(Perf), "perf is not installed (apt-get install linux-perf)");
        Skip.IfNot(Environment.IsPrivilegedProcess, "perf stat -p on another process needs root");
    }
}
