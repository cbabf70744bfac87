using Confluent.Kafka;
using SafeHaven.Core.Detector;
using SafeHaven.Core.Rules;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Embedded;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using SafeHaven.Security;
using SafeHaven.StreamProcessors.Detection;
using SafeHaven.Traces.Kafka;
using Streamiz.Kafka.Net;
using Xunit.Abstractions;

namespace SafeHaven.Traces.Tests;

/// <summary>
/// Record and replay on the embedded broker with the real detector topology, over the Kafka protocol: samples sealed as a
/// probe seals them are detected, recorded with the detections, and the trace replayed twice into fresh topics gives the
/// same detections with the same ids each time.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ReplayOnEmbeddedBrokerTests(ITestOutputHelper output)
{
    private const int Partitions = 3;
    private const string RulesYaml = """
        rules:
          - name: cs-storm
            counter: context-switches
            threshold: 1000
            scope: core
            sustain: 2
            cooldown: 3s
        """;

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_recorded_trace_replays_to_the_same_detection_ids_twice()
    {
        using var broker = EmbeddedBroker.Start();
        var keys = Directory.CreateTempSubdirectory("safehaven-trace-keys-");
        var path = Path.Combine(Path.GetTempPath(), $"trace-{Guid.NewGuid():N}.avro");
        try
        {
            SampleMacKeys.GenerateMaster(keys.FullName);
            SigningKeys.Generate(keys.FullName, KeyRoles.Probe, "dc1/h1");
            SigningKeys.Generate(keys.FullName, KeyRoles.Probe, "dc1/h2");
            var trust = RoleSeals.From(SigningKeys.LoadRecordVerifier(keys.FullName));
            Assert.True(trust.Checks(Seals.Kinds.Samples) && trust.Checks(Seals.Kinds.Inventory));
            var live = LiveSamples();
            var sampleCount = live.Count(e => e.Kind == TraceKind.Samples);

            // The "live" run: a probe's sealed batches through the detector, recorded with its detections.
            var original = await Run(broker, live, keys.FullName, trust, sampleCount);
            Assert.True(original.Count >= 3, $"{original.Count} detections: the test wants several");
            var recordedKafka = Clients(broker, original.Prefix, trust);
            using (var writer = TraceWriter.Create(path))
            {
                using var stop = new CancellationTokenSource(Deadline);
                var expected = live.Count + original.Count;
                var recorder = new TraceRecorder(recordedKafka, new TraceRecorderOptions { Detections = true }, TimeProvider.System);
                var run = ConsumeLoop.OnOwnThread(() => recorder.Run(writer, null, r => output.WriteLine("left out: " + r), stop.Token), CancellationToken.None);
                while (writer.Records < expected && !stop.IsCancellationRequested)
                {
                    await Task.Delay(20);
                }
                await stop.CancelAsync();
                var stats = await run;
                Assert.Equal(expected, stats.Records);
                Assert.Equal(0, stats.Rejected);
            }
            var trace = TraceReader.ReadAll(path);
            // Hosts are on different partitions: each host's samples in order, the hosts interleaved as the consumer read them.
            // The recorder stamps the cluster it read from; the samples themselves are the live ones byte for byte.
            Assert.All(trace, e => Assert.Equal(recordedKafka.Options.Cluster, e.Cluster));
            foreach (var host in new[] { "h1", "h2" })
            {
                Assert.Equal(live.Where(e => e.Sample?.host == host).Select(e => TraceFormatTests.Bytes(e with { TimestampNs = 0 })),
                    trace.Where(e => e.Sample?.host == host).Select(e => TraceFormatTests.Bytes(e with { TimestampNs = 0, Cluster = null })));
            }
            var recordedIds = trace.Where(e => e.Kind == TraceKind.Detections).Select(e => e.Detection!.detectionId).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(original.Ids, recordedIds);

            var first = await Run(broker, trace, keys.FullName, trust, sampleCount);
            var second = await Run(broker, trace, keys.FullName, trust, sampleCount);

            Assert.Equal(original.Ids, first.Ids);
            Assert.Equal(original.Ids, second.Ids);
            output.WriteLine(string.Join("\n", first.Ids));
        }
        finally
        {
            File.Delete(path);
            keys.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Unsealed_replay_is_dead_lettered_by_a_detector_that_trusts_probe_keys()
    {
        using var broker = EmbeddedBroker.Start();
        var keys = Directory.CreateTempSubdirectory("safehaven-trace-keys-");
        try
        {
            SampleMacKeys.GenerateMaster(keys.FullName);
            var trust = RoleSeals.From(SigningKeys.LoadRecordVerifier(keys.FullName));
            var live = LiveSamples().Where(e => e.Kind == TraceKind.Samples).ToList();
            var run = await Run(broker, live, null, trust, 0, expectDeadLetters: true);
            Assert.Empty(run.Ids);
        }
        finally
        {
            keys.Delete(recursive: true);
        }
    }

    private static KafkaClients Clients(EmbeddedBroker broker, string prefix, RoleSeals seals) =>
        new(new KafkaOptions { BootstrapServers = broker.BootstrapServers, TopicPrefix = prefix, Partitions = Partitions }) { Seals = seals };

    /// <summary>Replays <paramref name="entries"/> at full speed into fresh topics with a fresh detector; its detection ids, sorted.</summary>
    private async Task<(List<string> Ids, string Prefix, int Count)> Run(EmbeddedBroker broker, IReadOnlyList<TraceEntry> entries, string? keyDir,
        RoleSeals trust, int samples, bool expectDeadLetters = false)
    {
        var prefix = "t" + Guid.NewGuid().ToString("N") + ".";
        var topics = new TopicNames(prefix);
        var appId = "replay-it-" + Guid.NewGuid().ToString("N");
        await new MockTopicProvisioner(broker).EnsureAsync(topics.All(Partitions).Concat(DetectorTopology.InternalTopics(appId, Partitions)), CancellationToken.None);
        var metrics = new DetectorMetrics();
        var topology = DetectorTopology.Build(topics, new DetectorEngine(RulesParser.Parse(RulesYaml, "rules.yaml")), new KafkaSerdes(), TimeProvider.System, metrics, seals: trust);
        using var stream = new KafkaStream(topology, DetectorStreamConfig.Create(appId, broker.BootstrapServers));
        using (var startTimeout = new CancellationTokenSource(Deadline))
        {
            await stream.StartAsync(startTimeout.Token).WaitAsync(Deadline);
        }
        using var kafka = Clients(broker, prefix, RoleSeals.None);
        using var sealer = keyDir is null ? ReplaySealer.None : ReplaySealer.FromDirectory(keyDir);
        var stats = await new TraceReplayer(kafka, sealer, TimeProvider.System).RunAsync(entries, new ReplayPacer(null));
        Assert.Equal(0, stats.Failed);
        Assert.Equal(keyDir is null ? stats.Batches + stats.Inventory : 0, stats.Unsealed);

        var until = DateTime.UtcNow + Deadline;
        while ((expectDeadLetters ? metrics.DeadLetters < stats.Batches : metrics.Samples < samples) && DateTime.UtcNow < until)
        {
            await Task.Delay(20);
        }
        Assert.True(expectDeadLetters ? metrics.DeadLetters == stats.Batches : metrics.Samples == samples,
            $"detector saw {metrics.Samples} of {samples} samples, {metrics.DeadLetters} dead letters of {stats.Batches} batches");

        var ids = ReadDetections(broker, topics.Detections, (int)metrics.Detections);
        output.WriteLine($"{prefix}: {stats.Batches} batches, {stats.Samples} samples, {metrics.Detections} detections");
        return (ids, prefix, ids.Count);
    }

    private static List<string> ReadDetections(EmbeddedBroker broker, string topic, int expected)
    {
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = broker.BootstrapServers, GroupId = "reader-" + Guid.NewGuid().ToString("N"),
            AutoOffsetReset = AutoOffsetReset.Earliest, EnableAutoCommit = false, FetchWaitMaxMs = 5, SessionTimeoutMs = 6000,
        }).Build();
        consumer.Subscribe(topic);
        var codec = new SingleObjectCodec<Detection>();
        var ids = new List<string>();
        var until = DateTime.UtcNow + Deadline;
        while (ids.Count < expected && DateTime.UtcNow < until)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { Message: not null } r)
            {
                ids.Add(codec.Decode(r.Message.Value).detectionId);
            }
        }
        consumer.Close();
        Assert.Equal(expected, ids.Count);
        return ids.Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Two hosts, two storms on each (ticks 3-5 and 9-12), benign neighbours, inventory first: what a probe would send.</summary>
    private static List<TraceEntry> LiveSamples()
    {
        var t0 = 1_764_800_000_000_000_000L;
        var entries = new List<TraceEntry>();
        var seq = new Dictionary<string, long> { ["h1"] = 0, ["h2"] = 0 };
        foreach (var host in seq.Keys)
        {
            var sample = TraceSamples.Sample(host, 42, 0, t0, 0);
            entries.Add(TraceEntry.OfInventory($"dc1/{host}/pid/42", new EntityState
            {
                entityId = $"dc1/{host}/pid/42", kind = "process", entity = sample.entity, levels = ["core"],
                counterStatus = new Dictionary<string, string>(), attributes = new Dictionary<string, string>(), updatedAtNs = t0,
            }, t0 / 1_000_000 * 1_000_000));
        }
        for (var tick = 1; tick <= 12; tick++)
        {
            var end = t0 + (tick * 1_000_000_000L);
            foreach (var host in seq.Keys)
            {
                foreach (var pid in new[] { 42, 7, 8 })
                {
                    var storm = pid == 42 && tick is (>= 3 and <= 5) or (>= 9);
                    entries.Add(TraceEntry.OfSample(TraceSamples.Sample(host, pid, seq[host]++, end + pid, storm ? 5000 : 100), end / 1_000_000 * 1_000_000));
                }
            }
        }
        return entries;
    }
}
