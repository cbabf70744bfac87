using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using SafeHaven.Kafka.Embedded;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using SafeHaven.StreamProcessors.Detection;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.SerDes;
using SafeHaven.Core;

namespace SafeHaven.PipelineBench;

/// <summary>What both benches share: the broker and its topics, the detector's config, samples and statistics.</summary>
internal static class Bench
{
    public const int Partitions = 3;
    public const string ContextSwitches = "context-switches";

    /// <summary>One rule, sustain 1: a single sample above ε is one detection, so each crossing costs one command.</summary>
    public const string RulesYaml = """
        rules:
          - { name: cs-storm, counter: context-switches, threshold: 1000, scope: core, sustain: 1, cooldown: 1h }
        """;

    /// <summary>Starts a one-broker embedded cluster with every SafeHaven topic and the detector's changelog.</summary>
    public static async Task<EmbeddedBroker> StartBrokerAsync(TopicNames topics, params string[] detectorAppIds)
    {
        var broker = EmbeddedBroker.Start(1);
        await new MockTopicProvisioner(broker).EnsureAsync(
            topics.All(Partitions).Concat(detectorAppIds.SelectMany(id => DetectorTopology.InternalTopics(id, Partitions))), CancellationToken.None);
        return broker;
    }

    /// <summary>
    /// The StreamConfig of DetectorService (keep in step with it), with the bench's throughput
    /// overrides applied only where given.
    /// </summary>
    public static StreamConfig<StringSerDes, ByteArraySerDes> DetectorConfig(string appId, string bootstrap, ILoggerFactory loggers, StreamTuning tuning)
    {
        var config = DetectorStreamConfig.Create(appId, bootstrap, loggers: loggers);
        if (tuning.PollMs is { } poll) { config.PollMs = poll; }
        if (tuning.MaxPollRecords is { } max) { config.MaxPollRecords = max; }
        if (tuning.CommitIntervalMs is { } commit) { config.CommitIntervalMs = commit; }
        if (tuning.FetchWaitMaxMs is { } wait) { config.FetchWaitMaxMs = wait; }
        return config;
    }

    /// <summary>A sample of process <paramref name="pid"/> on <paramref name="host"/> with a 1 s window.</summary>
    public static CounterSample Sample(string host, int pid, long contextSwitches, long seq, long timestampNs) => new()
    {
        host = host,
        entity = new EntityRef { datacenter = "dc1", host = host, pid = pid, comm = "w" },
        values = new Dictionary<string, long> { [ContextSwitches] = contextSwitches },
        intervalNs = 1_000_000_000,
        timestampNs = timestampNs,
        seq = seq,
    };

    public static string Host(int i) => "h" + i.ToString(CultureInfo.InvariantCulture);

    /// <summary>Unix epoch nanoseconds now.</summary>
    public static long NowNs() => TimeProvider.System.NowNs();

    public static double Ms(long stopwatchTicks) => stopwatchTicks * 1000.0 / Stopwatch.Frequency;

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];

    public static string Summary(string name, List<double> ms)
    {
        ms.Sort();
        return ms.Count == 0
            ? $"{name}: n=0"
            : string.Create(CultureInfo.InvariantCulture,
                $"{name}: n={ms.Count} min {ms[0]:F2} p50 {Percentile(ms, 50):F2} p90 {Percentile(ms, 90):F2} p99 {Percentile(ms, 99):F2} p99.9 {Percentile(ms, 99.9):F2} max {ms[^1]:F2} ms");
    }

    /// <summary>Fails loudly when the mock dropped the oldest records of a partition (docs/MACHINE.md: 5 MiB / 100 000 batches).</summary>
    public static void CheckNothingDropped(string bootstrap, string topic)
    {
        using var probe = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = "bench-probe" }).Build();
        for (var p = 0; p < Partitions; p++)
        {
            var w = probe.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10));
            if (w.Low.Value != 0)
            {
                throw new InvalidOperationException($"{topic}[{p}] starts at offset {w.Low.Value}: the mock dropped records; produce fewer");
            }
        }
    }
}

/// <summary>Streamiz settings the bench may override; null keeps DetectorService's value.</summary>
internal sealed record StreamTuning(int? PollMs = null, long? MaxPollRecords = null, long? CommitIntervalMs = null, int? FetchWaitMaxMs = null)
{
    public override string ToString() =>
        $"PollMs={PollMs?.ToString(CultureInfo.InvariantCulture) ?? "1"} MaxPollRecords={MaxPollRecords?.ToString(CultureInfo.InvariantCulture) ?? "500"} " +
        $"CommitIntervalMs={CommitIntervalMs?.ToString(CultureInfo.InvariantCulture) ?? "100"} FetchWaitMaxMs={FetchWaitMaxMs?.ToString(CultureInfo.InvariantCulture) ?? "1"}";
}
