using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using SafeHaven.Core.Detector;
using SafeHaven.Core.Rules;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using SafeHaven.StreamProcessors.Detection;
using Streamiz.Kafka.Net;

namespace SafeHaven.PipelineBench;

/// <summary>
/// Throughput of the detector topology on the embedded broker as a ratio to a raw Confluent
/// consumer reading the same topic in the same run.
/// </summary>
internal static class ThroughputBench
{
    private const int Hosts = 30;
    private const int PidsPerHost = 100;

    public static async Task RunAsync(int samples, StreamTuning tuning, ILoggerFactory loggers, CancellationToken ct)
    {
        var topics = new TopicNames("tp.");
        const string appId = "bench-detector";
        using var broker = await Bench.StartBrokerAsync(topics, appId);
        var bytes = Produce(broker.BootstrapServers, topics.Samples, samples);
        Bench.CheckNothingDropped(broker.BootstrapServers, topics.Samples);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"produced {samples} samples, {bytes / Bench.Partitions / 1024.0 / 1024.0:F2} MiB of keys+values per partition (mock keeps 5 MiB)"));

        var raw = RawConsume(broker.BootstrapServers, topics.Samples, samples, ct);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"raw consumer: {samples} in {raw:F3} s = {samples / raw:F0} rec/s"));

        var (fromStart, fromFirst) = await DetectorAsync(broker.BootstrapServers, topics, appId, samples, tuning, loggers, ct);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"detector ({tuning}): {samples} in {fromFirst:F3} s from its first sample = {samples / fromFirst:F0} rec/s; " +
            $"{fromStart:F3} s from StartAsync = {samples / fromStart:F0} rec/s"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RATIO detector/raw = {raw / fromFirst:F3} (from first sample), {raw / fromStart:F3} (from StartAsync)"));
    }

    /// <summary>Batches of hundreds of records (linger 10 ms): the mock returns one batch per partition per fetch.</summary>
    private static long Produce(string bootstrap, string topic, int samples)
    {
        var codec = new SingleObjectCodec<CounterSample>();
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrap,
            LingerMs = 10,
            BatchNumMessages = 1000,
            EnableIdempotence = true,
            Acks = Acks.All,
            QueueBufferingMaxMessages = 1_000_000,
        }).Build();
        long bytes = 0;
        var t0 = Bench.NowNs();
        for (var i = 0; i < samples; i++)
        {
            var host = Bench.Host(i % Hosts);
            // Below ε: the detector evaluates every sample but writes no state, as in a quiet fleet.
            var value = codec.Encode(Bench.Sample(host, 1 + (i / Hosts) % PidsPerHost, 100, i, t0 + i));
            bytes += value.Length + host.Length;
            producer.Produce(topic, new Message<string, byte[]> { Key = host, Value = value });
        }
        producer.Flush(TimeSpan.FromSeconds(60));
        return bytes;
    }

    private static double RawConsume(string bootstrap, string topic, int samples, CancellationToken ct)
    {
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "bench-raw",
            EnableAutoCommit = false,
            FetchWaitMaxMs = 5,
            QueuedMinMessages = 1_000_000,
            FetchQueueBackoffMs = 10,
        }).Build();
        // Assign, not subscribe: no group join in the timing, like the detector's time from its first sample.
        consumer.Assign(Enumerable.Range(0, Bench.Partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var n = 0;
        long first = 0;
        while (n < samples)
        {
            if (consumer.Consume(ct) is { Message: not null })
            {
                if (n++ == 0)
                {
                    first = Stopwatch.GetTimestamp();
                }
            }
        }
        return Bench.Ms(Stopwatch.GetTimestamp() - first) / 1000;
    }

    private static async Task<(double FromStart, double FromFirst)> DetectorAsync(string bootstrap, TopicNames topics, string appId,
        int samples, StreamTuning tuning, ILoggerFactory loggers, CancellationToken ct)
    {
        var metrics = new DetectorMetrics();
        var engine = new DetectorEngine(RulesParser.Parse(Bench.RulesYaml, "bench.yaml"));
        var serdes = new KafkaSerdes();
        WarmUp.Codecs(serdes);
        var topology = DetectorTopology.Build(topics, engine, serdes, TimeProvider.System, metrics);
        using var stream = new KafkaStream(topology, Bench.DetectorConfig(appId, bootstrap, loggers, tuning));
        var start = Stopwatch.GetTimestamp();
        await stream.StartAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60), ct);
        long first = 0, seen = 0, lastProgress = Stopwatch.GetTimestamp();
        while (metrics.Samples < samples)
        {
            ct.ThrowIfCancellationRequested();
            var now = Stopwatch.GetTimestamp();
            if (metrics.Samples != seen)
            {
                first = first == 0 ? now : first;
                (seen, lastProgress) = (metrics.Samples, now);
            }
            else if (Bench.Ms(now - lastProgress) > 15_000)
            {
                throw new TimeoutException($"detector stalled at {seen} of {samples} samples ({metrics.DeadLetters} dead letters)");
            }
            Thread.Sleep(1);
        }
        var end = Stopwatch.GetTimestamp();
        return (Bench.Ms(end - start) / 1000, Bench.Ms(end - first) / 1000);
    }
}
