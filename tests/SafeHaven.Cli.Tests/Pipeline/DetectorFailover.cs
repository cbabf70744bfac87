using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using SafeHaven.Cli.Tests.Commands;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;
using Xunit.Abstractions;

namespace SafeHaven.Cli.Tests.Pipeline;

/// <summary>
/// Issue 13's done-when scenario on any cluster: <c>instances</c> <c>safehaven detect</c> processes share the samples
/// partitions; a <c>simulate</c> fleet pulses hot entities on every partition the whole time; one detector is killed
/// with SIGKILL and at once a second fleet starts whose every host has a steadily hot entity. Every one of those must be
/// detected within 15 s of the kill, and no window (host, pid, rule, window end) may get two detection ids.
/// </summary>
internal static class DetectorFailover
{
    public const int Partitions = 6;
    public static readonly TimeSpan Goal = TimeSpan.FromSeconds(15);
    private const int PostHosts = 48;

    /// <summary>Runs the scenario against <paramref name="bootstrap"/>, whose topics (prefix, detector group) exist; returns the figures line.</summary>
    public static async Task<string> RunAsync(Workloads w, string bootstrap, string prefix, string applicationId, int instances, ITestOutputHelper output)
    {
        var keys = Path.Join(w.Dir.FullName, "keys");
        Assert.Equal(0, (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "keys", "generate", "--dir", keys, "--role", "detector", "--subject", "detector")).ExitCode);
        Assert.Equal(0, (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "keys", "sample-master", "--dir", keys)).ExitCode);
        var rules = Path.Join(w.Dir.FullName, "rules.yaml");
        // Pulsing entities storm one period (200 ms) in four: a 500 ms cooldown lets each pulse fire.
        await File.WriteAllTextAsync(rules, "rules:\n  - name: storm\n    counter: context-switches\n    threshold: 20000\n    scope: core\n    cooldown: 500ms\n    clearBelow: 1000\n");
        using var clients = new KafkaClients(new KafkaOptions { BootstrapServers = bootstrap, TopicPrefix = prefix, Partitions = Partitions });
        var seen = new ConcurrentQueue<(Detection D, long ArrivedTicks, double LatencyMs)>();
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var reading = ConsumeLoop.OnOwnThread(() => ReadAll(clients, seen, stop.Token), CancellationToken.None);
        string[] Common(params string[] verb) => [.. verb, "--bootstrap", bootstrap, "--topic-prefix", prefix, "--partitions", Partitions.ToString(CultureInfo.InvariantCulture)];
        var detectors = Enumerable.Range(0, instances)
            .Select(_ => RoleProcess.Start(w, [.. Common("detect"), "--rules", rules, "--signing-key", keys, "--application-id", applicationId],
                ("SAFEHAVEN_STREAMIZ_LOG_LEVEL", "Information")))
            .ToList();
        foreach (var d in detectors)
        {
            await d.LineAsync("Application started", TimeSpan.FromSeconds(90));
        }
        var pre = RoleProcess.Start(w, [.. Common("simulate"), "--hosts", "24", "--processes", "5", "--period", "200ms", "--hot", "24", "--pulse",
            "--host-prefix", "pre-", "--sample-master", keys, "--duration", "150s"]);
        // The group is settled once every pre host's pulses have been detected promptly for 4 s in a row.
        var settled = await SettledAsync(seen, TimeSpan.FromSeconds(90));
        Assert.True(settled, $"the detectors never settled; {seen.Count} detections. Detector 0:\n{detectors[0].Stderr}\nsimulate:\n{pre.Stderr}");

        var victim = detectors[0];
        var killedAt = Stopwatch.GetTimestamp();
        var killedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        victim.Process.Kill();
        await victim.Process.WaitForExitAsync();
        var post = RoleProcess.Start(w, [.. Common("simulate"), "--hosts", PostHosts.ToString(CultureInfo.InvariantCulture), "--processes", "2", "--period", "200ms",
            "--hot", PostHosts.ToString(CultureInfo.InvariantCulture), "--host-prefix", "post-", "--sample-master", keys, "--duration", "40s"]);
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 60;
        while (PostDetected(seen).Count < PostHosts && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(50);
        }
        var postFirst = PostDetected(seen);
        var (partitions, firstSampleMs) = await ConsumeLoop.OnOwnThread(() => PartitionsOfHosts(clients), CancellationToken.None);
        await stop.CancelAsync();
        await reading;

        var windows = seen.Select(s => s.D).GroupBy(d => (d.entity.host, d.entity.pid, d.rule, d.detectedAtNs)).ToList();
        var conflicting = windows.Where(g => g.Select(d => d.detectionId).Distinct().Count() > 1).ToList();
        var redelivered = windows.Sum(g => g.Count() - 1);
        // From the kill, or from the host's first sample when its fleet's process (started at the kill) published later:
        // a detector cannot see an entity before its samples exist, and `simulate`'s own start-up counted against the 15 s
        // (2026-12-05: at load 30-50 every post entity came 12.1-14.0 s after the kill, min ≈ max; at load 20 the first
        // post sample alone came 2.3 s after it).
        var startUp = firstSampleMs.ToDictionary(h => h.Key, h => TimeSpan.FromMilliseconds(Math.Max(0, h.Value - killedAtMs)));
        var afterKill = postFirst.ToDictionary(p => p.Key, p => Stopwatch.GetElapsedTime(killedAt, p.Value) - startUp.GetValueOrDefault(p.Key));
        var byPartition = afterKill.GroupBy(p => partitions.GetValueOrDefault(p.Key, -1)).OrderBy(g => g.Key)
            .Select(g => $"p{g.Key}: {g.Max(p => p.Value).TotalSeconds:F1} s").ToList();
        var sorted = afterKill.Values.Order().ToList();
        var figures = $"{instances} detectors, kill -9 of one: {afterKill.Count}/{PostHosts} post-kill hot entities detected; post fleet's first sample " +
            $"{Seconds(startUp.Values.DefaultIfEmpty().Min())}-{Seconds(startUp.Values.DefaultIfEmpty().Max())} s after the kill; (kill or first sample)→detection " +
            $"min {Seconds(sorted.FirstOrDefault())} / median {Seconds(sorted.ElementAtOrDefault(sorted.Count / 2))} / max {Seconds(sorted.LastOrDefault())} s; " +
            $"slowest per samples partition [{string.Join(", ", byPartition)}]; windows {windows.Count}, redelivered (same id) {redelivered}, with two ids {conflicting.Count}";
        output.WriteLine(figures);
        foreach (var d in detectors.Skip(1))
        {
            output.WriteLine($"survivor {d.Process.Id}: " + string.Join("\n  ", d.Stderr.Split('\n').Where(l => l.Contains("warn:", StringComparison.Ordinal)
                || l.Contains("State transition", StringComparison.Ordinal) || l.Contains("assigned", StringComparison.OrdinalIgnoreCase))));
        }
        Assert.Empty(conflicting.Select(g => $"{g.Key}: {string.Join(", ", g.Select(d => d.detectionId).Distinct())}"));
        Assert.True(afterKill.Count == PostHosts, $"only {afterKill.Count} of {PostHosts} hot entities detected within 60 s of the kill; {figures}\nsurvivors:\n" +
            string.Join("\n---\n", detectors.Skip(1).Select(d => string.Join('\n', d.Stderr.Split('\n').TakeLast(150)))));
        Assert.True(sorted[^1] <= Goal, $"slowest detection {sorted[^1].TotalSeconds:F1} s after the kill, goal {Goal.TotalSeconds} s; {figures}");
        return figures;
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture);

    private static Dictionary<string, long> PostDetected(ConcurrentQueue<(Detection D, long ArrivedTicks, double LatencyMs)> seen) =>
        seen.Where(s => s.D.entity.host.StartsWith("post-", StringComparison.Ordinal))
            .GroupBy(s => s.D.entity.host).ToDictionary(g => g.Key, g => g.Min(s => s.ArrivedTicks));

    private static Task<bool> SettledAsync(ConcurrentQueue<(Detection D, long ArrivedTicks, double LatencyMs)> seen, TimeSpan timeout)
    {
        var first = Stopwatch.GetTimestamp();
        return Poll.Until(() =>
        {
            var since = Stopwatch.GetTimestamp() - Stopwatch.Frequency * 4;
            // Prompt: arrived within 1 s of its window's end, so no partition is waiting for a rebalance.
            var prompt = seen.Where(s => s.ArrivedTicks >= since && s.LatencyMs < 1000 && s.D.entity.host.StartsWith("pre-", StringComparison.Ordinal))
                .Select(s => s.D.entity.host).Distinct().Count();
            return prompt == 24 && since > first;
        }, timeout);
    }

    private static void ReadAll(KafkaClients clients, ConcurrentQueue<(Detection, long, double)> seen, CancellationToken ct)
    {
        var config = clients.Consumer("failover-observer-" + Guid.NewGuid().ToString("N")[..8], "failover-observer");
        using var consumer = new ConsumerBuilder<string, byte[]>(config).Build();
        consumer.Assign(Enumerable.Range(0, Partitions).Select(p => new TopicPartitionOffset(clients.Topics.Detections, p, Offset.Beginning)));
        var codec = new SingleObjectCodec<Detection>();
        while (!ct.IsCancellationRequested)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(50)) is { Message: { } m })
            {
                var d = codec.Decode(m.Value);
                if (d.kind == SafeHaven.Core.DetectionKinds.Detected)
                {
                    var latencyMs = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000 - d.detectedAtNs) / 1e6;
                    seen.Enqueue((d, Stopwatch.GetTimestamp(), latencyMs));
                }
            }
        }
        consumer.Close();
    }

    // The samples partition of each host, and when (Unix ms, CreateTime) each post host's first sample was published.
    private static (Dictionary<string, int>, Dictionary<string, long>) PartitionsOfHosts(KafkaClients clients)
    {
        var first = new Dictionary<string, long>(StringComparer.Ordinal);
        using var consumer = new ConsumerBuilder<string, byte[]>(clients.Consumer("failover-hosts-" + Guid.NewGuid().ToString("N")[..8], "failover-hosts")).Build();
        consumer.Assign(Enumerable.Range(0, Partitions).Select(p => new TopicPartitionOffset(clients.Topics.Samples, p, Offset.Beginning)));
        var hosts = new Dictionary<string, int>(StringComparer.Ordinal);
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 10;
        while (hosts.Count(h => h.Key.StartsWith("post-", StringComparison.Ordinal)) < PostHosts && Stopwatch.GetTimestamp() < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(50)) is { Message: { } m } cr)
            {
                hosts.TryAdd(m.Key, cr.Partition.Value);
                if (m.Key.StartsWith("post-", StringComparison.Ordinal))
                {
                    first[m.Key] = Math.Min(first.GetValueOrDefault(m.Key, long.MaxValue), m.Timestamp.UnixTimestampMs);
                }
            }
        }
        return (hosts, first);
    }
}
