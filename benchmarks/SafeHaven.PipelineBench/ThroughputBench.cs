using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using SafeHaven.Core.Detector;
using SafeHaven.Core.Samples;
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

    /// <summary>
    /// Produces <paramref name="samples"/> samples (<paramref name="perRecord"/> per <c>SampleBatch</c>
    /// record, one host's tick; 0 = the old contract, one <c>CounterSample</c> per record), then times a
    /// raw consumer and the detector over the same records, both in samples/s.
    /// </summary>
    public static async Task RunAsync(int samples, int perRecord, StreamTuning tuning, ILoggerFactory loggers, CancellationToken ct)
    {
        var topics = new TopicNames("tp.");
        const string appId = "bench-detector";
        using var broker = await Bench.StartBrokerAsync(topics, appId);
        var (bytes, records) = Produce(broker.BootstrapServers, topics.Samples, samples, perRecord);
        Bench.CheckNothingDropped(broker.BootstrapServers, topics.Samples);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"produced {samples} samples in {records} records ({(perRecord > 0 ? $"SampleBatch of {perRecord}" : "CounterSample each")}), " +
            $"{bytes / (double)samples:F1} bytes per sample, {bytes / Bench.Partitions / 1024.0 / 1024.0:F2} MiB of keys+values per partition (mock keeps 5 MiB)"));

        var raw = RawConsume(broker.BootstrapServers, topics.Samples, records, ct);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"raw consumer: {records} records = {samples} samples in {raw:F3} s = {records / raw:F0} rec/s = {samples / raw:F0} samples/s"));

        var (fromStart, fromFirst, cpu, allocated) = await DetectorAsync(broker.BootstrapServers, topics, appId, samples, tuning, loggers, ct);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"detector ({tuning}): {samples} samples in {fromFirst:F3} s from its first sample = {samples / fromFirst:F0} samples/s; " +
            $"{fromStart:F3} s from StartAsync = {samples / fromStart:F0} samples/s"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"detector cost: {cpu.TotalMilliseconds * 1e6 / samples:F0} ns CPU per sample (whole process, all threads, from StartAsync), " +
            $"{allocated / (double)samples:F0} bytes allocated per sample"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RATIO detector/raw = {raw / fromFirst:F3} (from first sample), {raw / fromStart:F3} (from StartAsync)"));
    }

    /// <summary>Batches of hundreds of records (linger 10 ms): the mock returns one batch per partition per fetch.</summary>
    private static (long Bytes, int Records) Produce(string bootstrap, string topic, int samples, int perRecord)
    {
        var codec = new SingleObjectCodec<CounterSample>();
        var batchCodec = new SingleObjectCodec<SampleBatch>();
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
        var records = 0;
        var t0 = Bench.NowNs();
        var seqs = new long[Hosts];
        for (var i = 0; i < samples; records++)
        {
            var host = Bench.Host(records % Hosts);
            byte[] value;
            if (perRecord <= 0)
            {
                // Below ε: the detector evaluates every sample but writes no state, as in a quiet fleet.
                value = codec.Encode(Bench.Sample(host, 1 + (i / Hosts) % PidsPerHost, 100, i, t0 + i));
                i++;
            }
            else
            {
                // One host's tick: its processes' samples, consecutive seqs, window ends microseconds apart.
                var n = Math.Min(perRecord, samples - i);
                var tick = t0 + (records / Hosts * 1_000_000_000L);
                var tickSamples = Enumerable.Range(0, n)
                    .Select(k => Bench.Sample(host, 1 + k, 100, seqs[records % Hosts]++, tick + (k * 3_000L)))
                    .ToList();
                value = batchCodec.Encode(SampleBatches.From(tickSamples));
                i += n;
            }
            bytes += value.Length + host.Length;
            producer.Produce(topic, new Message<string, byte[]> { Key = host, Value = value });
        }
        producer.Flush(TimeSpan.FromSeconds(60));
        return (bytes, records);
    }

    private static double RawConsume(string bootstrap, string topic, int records, CancellationToken ct)
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
        while (n < records)
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

    private static async Task<(double FromStart, double FromFirst, TimeSpan Cpu, long Allocated)> DetectorAsync(string bootstrap, TopicNames topics, string appId,
        int samples, StreamTuning tuning, ILoggerFactory loggers, CancellationToken ct)
    {
        var metrics = new DetectorMetrics();
        var engine = new DetectorEngine(RulesParser.Parse(Bench.RulesYaml, "bench.yaml"));
        var serdes = new KafkaSerdes();
        WarmUp.Codecs(serdes);
        var topology = DetectorTopology.Build(topics, engine, serdes, TimeProvider.System, metrics);
        using var stream = new KafkaStream(topology, Bench.DetectorConfig(appId, bootstrap, loggers, tuning));
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var alloc0 = GC.GetTotalAllocatedBytes(precise: true);
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
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - alloc0;
        if (metrics.DeadLetters != 0)
        {
            throw new InvalidOperationException($"{metrics.DeadLetters} dead letters: the bench's samples must all be valid");
        }
        return (Bench.Ms(end - start) / 1000, Bench.Ms(end - first) / 1000, cpu, allocated);
    }
}
