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
    /// Produces <paramref name="samples"/> samples (<paramref name="perRecord"/> per <c>SampleBatch</c> record,
    /// one host's tick; 0 = the old contract, one <c>CounterSample</c> per record), then times a raw consumer
    /// and the detector over the same records, both in samples/s. Each side reads the topic twice, from the
    /// start, as two fresh consumers (the detector: two application ids, two empty stores): the first pass
    /// is "cold" (the JIT's unoptimised first tier, as in a detector's first second), the second is the
    /// steady state of a detector that has been running, and gives the RATIO.
    /// </summary>
    /// <param name="seal">none, mac (host MACs, as <c>up</c> seals samples) or ed25519 (the probe key's signature):
    /// the probe seals each record and the detector checks it, so the cost of checking is this run's ratio to a
    /// run with none.</param>
    public static async Task RunAsync(int samples, int perRecord, StreamTuning tuning, string seal, ILoggerFactory loggers, CancellationToken ct)
    {
        var seals = BenchSeals.For(seal, Enumerable.Range(0, Hosts).Select(Bench.Host));
        var topics = new TopicNames("tp.");
        const string appId = "bench-detector";
        using var broker = await Bench.StartBrokerAsync(topics, appId + "-cold", appId);
        var (bytes, records) = Produce(broker.BootstrapServers, topics.Samples, samples, perRecord, seals);
        Bench.CheckNothingDropped(broker.BootstrapServers, topics.Samples);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"produced {samples} samples in {records} records ({(perRecord > 0 ? $"SampleBatch of {perRecord}" : "CounterSample each")}, seal {seal}), " +
            $"{bytes / (double)samples:F1} bytes per sample, {bytes / Bench.Partitions / 1024.0 / 1024.0:F2} MiB of keys+values per partition (mock keeps 5 MiB)"));

        var rawCold = RawConsume(broker.BootstrapServers, topics.Samples, records, "bench-raw-cold", ct);
        var rawThread0 = ThreadCpu.CurrentNs();
        var raw = RawConsume(broker.BootstrapServers, topics.Samples, records, "bench-raw", ct);
        var rawThreadNs = ThreadCpu.CurrentNs() - rawThread0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"raw consumer: {records} records = {samples} samples in {raw:F3} s = {records / raw:F0} rec/s = {samples / raw:F0} samples/s (cold pass: {samples / rawCold:F0} samples/s)"));

        var cold = await DetectorAsync(broker.BootstrapServers, topics, appId + "-cold", samples, tuning, seals.Detector, loggers, ct);
        var d = await DetectorAsync(broker.BootstrapServers, topics, appId, samples, tuning, seals.Detector, loggers, ct);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"detector ({tuning}): {samples} samples in {d.FromFirst:F3} s from its first sample = {samples / d.FromFirst:F0} samples/s = {records / d.FromFirst:F0} rec/s; " +
            $"{samples / d.FromStart:F0} samples/s from StartAsync (cold pass: {samples / cold.FromFirst:F0} samples/s from its first sample)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"detector cost: {d.Cpu.TotalMilliseconds * 1e6 / samples:F0} ns CPU per sample (whole process from StartAsync: stream thread, librdkafka, GC), " +
            $"{d.Allocated / (double)samples:F0} bytes allocated per sample (cold pass: {cold.Cpu.TotalMilliseconds * 1e6 / samples:F0} ns, {cold.Allocated / (double)samples:F0} B)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RATIO detector/raw = {raw / d.FromFirst:F3} (from first sample), {raw / d.FromStart:F3} (from StartAsync); cold pass {rawCold / cold.FromFirst:F3}"));
        // On a shared machine the wall-clock ratio swings with the load; the threads' own CPU time splits the budget.
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"thread CPU per sample: detector's stream thread {d.StreamThreadNs / (double)samples:F0} ns (Streamiz + decode + rules, from StartAsync; cold pass {cold.StreamThreadNs / (double)samples:F0} ns), " +
            $"raw consumer's thread {rawThreadNs / (double)samples:F0} ns (librdkafka's own threads in neither)"));
    }

    /// <summary>Batches of hundreds of records (linger 10 ms): the mock returns one batch per partition per fetch.</summary>
    private static (long Bytes, int Records) Produce(string bootstrap, string topic, int samples, int perRecord, BenchSeals seals)
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
            producer.Produce(topic, new Message<string, byte[]> { Key = host, Value = value, Headers = seals.Headers(host, value) });
        }
        producer.Flush(TimeSpan.FromSeconds(60));
        return (bytes, records);
    }

    /// <summary>Seconds from the first record to the last.</summary>
    private static double RawConsume(string bootstrap, string topic, int records, string group, CancellationToken ct)
    {
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = group,
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
            if (consumer.Consume(ct) is { Message: not null } && n++ == 0)
            {
                first = Stopwatch.GetTimestamp();
            }
        }
        return Bench.Ms(Stopwatch.GetTimestamp() - first) / 1000;
    }

    private sealed record DetectorRun(double FromStart, double FromFirst, TimeSpan Cpu, long Allocated, long StreamThreadNs);

    private static async Task<DetectorRun> DetectorAsync(string bootstrap, TopicNames topics, string appId,
        int total, StreamTuning tuning, SafeHaven.Kafka.Clients.RoleSeals seals, ILoggerFactory loggers, CancellationToken ct)
    {
        var metrics = new DetectorMetrics();
        var engine = new DetectorEngine(RulesParser.Parse(Bench.RulesYaml, "bench.yaml"));
        var serdes = new KafkaSerdes();
        WarmUp.Codecs(serdes);
        var topology = DetectorTopology.Build(topics, engine, serdes, TimeProvider.System, metrics, seals: seals);
        using var stream = new KafkaStream(topology, Bench.DetectorConfig(appId, bootstrap, loggers, tuning));
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var alloc0 = GC.GetTotalAllocatedBytes(precise: true);
        var start = Stopwatch.GetTimestamp();
        await stream.StartAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60), ct);
        long first = 0, seen = 0, lastProgress = Stopwatch.GetTimestamp();
        while (metrics.Samples < total)
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
                throw new TimeoutException($"detector stalled at {seen} of {total} samples ({metrics.DeadLetters} dead letters)");
            }
            Thread.Sleep(1);
        }
        var end = Stopwatch.GetTimestamp();
        var streamThreadNs = ThreadCpu.OfThreadsNamedNs(appId);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - alloc0;
        if (metrics.DeadLetters != 0)
        {
            throw new InvalidOperationException($"{metrics.DeadLetters} dead letters: the bench's samples must all be valid");
        }
        return new DetectorRun(Bench.Ms(end - start) / 1000, Bench.Ms(end - first) / 1000, cpu, allocated, streamThreadNs);
    }
}
