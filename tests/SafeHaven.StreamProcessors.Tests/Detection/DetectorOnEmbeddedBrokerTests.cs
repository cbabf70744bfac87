using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using SafeHaven.Core.Detector;
using SafeHaven.Core.Rules;
using SafeHaven.Kafka.Embedded;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using SafeHaven.StreamProcessors.Detection;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.SerDes;
using Xunit.Abstractions;

namespace SafeHaven.StreamProcessors.Tests.Detection;

/// <summary>
/// The real detector topology in a Streamiz <see cref="KafkaStream"/> on the embedded broker,
/// over TCP, with real Confluent clients on both ends.
/// </summary>
public sealed class DetectorOnEmbeddedBrokerTests(ITestOutputHelper output)
{
    private const int Partitions = 3;
    private const string RulesYaml = """
        rules:
          - name: cs-storm
            counter: context-switches
            threshold: 1000
            scope: core
            sustain: 2
            cooldown: 10s
        """;

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Detects_the_noisy_entity_and_dead_letters_bad_samples_over_tcp()
    {
        var clock = Stopwatch.StartNew();
        using var broker = EmbeddedBroker.Start();
        var topics = new TopicNames("t" + Guid.NewGuid().ToString("N") + ".");
        var appId = "detector-it-" + Guid.NewGuid().ToString("N");
        await new MockTopicProvisioner(broker).EnsureAsync(
            topics.All(Partitions).Concat(DetectorTopology.InternalTopics(appId, Partitions)), CancellationToken.None);

        // No test-scoped logger factory: Streamiz keeps the factory it is given beyond the stream,
        // and other tests in this process would log into a disposed one.
        var config = DetectorStreamConfig.Create(appId, broker.BootstrapServers);
        var metrics = new DetectorMetrics();
        var engine = new DetectorEngine(RulesParser.Parse(RulesYaml, "rules.yaml"));
        var topology = DetectorTopology.Build(topics, engine, new KafkaSerdes(), TimeProvider.System, metrics);

        using var stream = new KafkaStream(topology, config);
        using (var startTimeout = new CancellationTokenSource(Deadline))
        {
            // A missing internal topic makes StartAsync hang without an error (docs/MACHINE.md): fail instead.
            await stream.StartAsync(startTimeout.Token).WaitAsync(Deadline);
        }
        output.WriteLine($"stream started after {clock.ElapsedMilliseconds} ms");

        // Every sample is keyed by host h1, so all go to one partition and are processed in order.
        // The last input is a dead letter: once it is out, everything before it has been processed.
        var codec = new SingleObjectCodec<CounterSample>();
        var garbage = Encoding.UTF8.GetBytes("this is not an avro record");
        var inputs = new List<byte[]>
        {
            codec.Encode(Samples.Of(42, 1, "context-switches", 5000)),
            codec.Encode(Samples.Of(7, 1, "context-switches", 100)),
            garbage,
            codec.Encode(Samples.Of(42, 2, "context-switches", 5000)), // sustained: fires here
            codec.Encode(Samples.Of(7, 2, "context-switches", 100)),
            codec.Encode(Samples.Of(42, 3, "context-switches", 5000)), // in cooldown: no second detection
            codec.Encode(Samples.Of(7, 3, "context-switches", 100)),
            codec.Encode(Samples.Of(9, 1, "context-switches", 5000, intervalNs: 0)),
        };
        using (var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = broker.BootstrapServers,
            LingerMs = 0,
            EnableIdempotence = true,
            Acks = Acks.All,
            SocketNagleDisable = true,
        }).Build())
        {
            foreach (var value in inputs)
            {
                await producer.ProduceAsync(topics.Samples, new Message<string, byte[]> { Key = "h1", Value = value });
            }
        }

        var detections = new List<(string Key, SafeHaven.Schemas.Detection Value)>();
        var deadLetters = new List<(string Key, DeadLetter Value)>();
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = broker.BootstrapServers,
            GroupId = "it-reader-" + Guid.NewGuid().ToString("N"),
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
            FetchWaitMaxMs = 5,
            QueuedMinMessages = 1_000_000,
            FetchQueueBackoffMs = 10,
            SessionTimeoutMs = 6000,
        }).Build();
        consumer.Subscribe([topics.Detections, topics.Dlq]);
        var detectionCodec = new SingleObjectCodec<SafeHaven.Schemas.Detection>();
        var deadLetterCodec = new SingleObjectCodec<DeadLetter>();
        var until = DateTime.UtcNow + Deadline;

        void Take(ConsumeResult<string, byte[]> r)
        {
            if (r.Topic == topics.Detections)
            {
                detections.Add((r.Message.Key, detectionCodec.Decode(r.Message.Value)));
            }
            else
            {
                deadLetters.Add((r.Message.Key, deadLetterCodec.Decode(r.Message.Value)));
            }
        }

        while (deadLetters.Count < 2 && DateTime.UtcNow < until)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { Message: not null } r)
            {
                Take(r);
            }
        }
        Assert.True(deadLetters.Count >= 2,
            $"after {Deadline.TotalSeconds} s: {detections.Count} detections, {deadLetters.Count} dead letters; " +
            $"detector metrics: {metrics.Samples} samples, {metrics.Detections} detections, {metrics.DeadLetters} dead letters");

        // Read both topics to their end, so that "exactly one" also rules out late extra records.
        while (DateTime.UtcNow < until && !AtEnd(consumer))
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { Message: not null } r)
            {
                Take(r);
            }
        }
        Assert.True(AtEnd(consumer), "the reader did not reach the end of detections and dlq before the deadline");
        output.WriteLine($"all outputs read after {clock.ElapsedMilliseconds} ms");

        var (key, detection) = Assert.Single(detections);
        Assert.Equal("dc1/h1/pid/42", key);
        Assert.Equal("cs-storm", detection.rule);
        Assert.Equal("context-switches", detection.counter);
        Assert.Equal(5000, detection.rate, 6);
        Assert.Equal(1000, detection.threshold, 6);
        Assert.Equal(42, detection.entity.pid);
        Assert.Equal(Samples.Of(42, 2, "x", 0).timestampNs, detection.detectedAtNs);

        Assert.Equal(2, deadLetters.Count);
        Assert.All(deadLetters, d => Assert.Equal("h1", d.Key));
        Assert.All(deadLetters, d => Assert.Equal(topics.Samples, d.Value.topic));
        Assert.All(deadLetters, d => Assert.Equal("detector", d.Value.consumer));
        Assert.Contains("single-object marker", deadLetters[0].Value.reason, StringComparison.Ordinal);
        Assert.Equal(garbage, deadLetters[0].Value.value);
        Assert.Contains("intervalNs must be > 0", deadLetters[1].Value.reason, StringComparison.Ordinal);
        Assert.True(deadLetters[0].Value.offset < deadLetters[1].Value.offset, "dead letters out of input order");

        Assert.Equal(6, metrics.Samples);
        Assert.Equal(1, metrics.Detections);
        Assert.Equal(2, metrics.DeadLetters);
        consumer.Close();
        output.WriteLine($"test body took {clock.ElapsedMilliseconds} ms");
    }

    /// <summary>True when the consumer's position is at the high watermark of every assigned partition.</summary>
    private static bool AtEnd(IConsumer<string, byte[]> consumer)
    {
        var assignment = consumer.Assignment;
        if (assignment.Count == 0)
        {
            return false;
        }
        foreach (var tp in assignment)
        {
            var high = consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(5)).High;
            var position = consumer.Position(tp);
            // Offset.Unset: nothing consumed yet, which is the end only for an empty partition.
            if (position == Offset.Unset ? high.Value != 0 : position.Value < high.Value)
            {
                return false;
            }
        }
        return true;
    }
}
