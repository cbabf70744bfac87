using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;

namespace SafeHaven.PipelineBench;

/// <summary>The latency bench's consumers: each times crossings against the instant their sample was produced.</summary>
internal static class LatencyReaders
{
    public const string SeqHeader = "bench-seq";

    /// <summary>Commands timed so far, written by the reader thread.</summary>
    public sealed class Progress
    {
        public int Commands;
    }

    /// <summary>Reads detections and commands as an actuator would (fetch wait 1 ms) and times each against its sample.</summary>
    public static void Read(KafkaClients kafka, ConcurrentDictionary<long, long> producedAt, List<(long Seq, double Ms)> detections, List<(long Seq, double Ms)> commands, Progress progress, CancellationToken ct)
    {
        var topics = kafka.Topics;
        using var consumer = new ConsumerBuilder<string, byte[]>(kafka.Consumer("bench-reader", "bench-reader")).Build();
        consumer.Assign(new[] { topics.Detections, topics.Commands }.SelectMany(t =>
            Enumerable.Range(0, Bench.Partitions).Select(p => new TopicPartitionOffset(t, p, Offset.Beginning))));
        var detection = kafka.Serdes.Deserializer<Detection>();
        var command = kafka.Serdes.Deserializer<IsolationCommand>();
        var (detectionSeqs, commandSeqs) = (new HashSet<long>(), new HashSet<long>());
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var r = consumer.Consume(ct);
                var now = Stopwatch.GetTimestamp();
                var isCommand = r.Topic == topics.Commands;
                var detectionId = isCommand
                    ? KafkaSerdes.Decode(command, r.Message.Value, r.Topic).detectionId
                    : KafkaSerdes.Decode(detection, r.Message.Value, r.Topic).detectionId;
                // detectionId = host:timestampNs:seq:rule (DetectorEngine).
                var seq = long.Parse(detectionId.Split(':')[2], CultureInfo.InvariantCulture);
                // Only the first record of a crossing is timed: a redelivered or re-sent one would time the same crossing twice.
                if (producedAt.TryGetValue(seq, out var at) && (isCommand ? commandSeqs : detectionSeqs).Add(seq))
                {
                    (isCommand ? commands : detections).Add((seq, Bench.Ms(now - at)));
                    if (isCommand)
                    {
                        Interlocked.Increment(ref progress.Commands);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        consumer.Close();
    }

    /// <summary>A raw consumer of the samples topic (fetch wait 1 ms): does the broker hop alone keep up?</summary>
    public static void ReadSamples(KafkaClients kafka, ConcurrentDictionary<long, long> producedAt, List<(long Seq, double Ms)> seen, CancellationToken ct)
    {
        using var consumer = new ConsumerBuilder<string, byte[]>(kafka.Consumer("bench-sample-reader", "bench-sample-reader")).Build();
        consumer.Assign(Enumerable.Range(0, Bench.Partitions).Select(p => new TopicPartitionOffset(kafka.Topics.Samples, p, Offset.Beginning)));
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var r = consumer.Consume(ct);
                if (r.Message.Headers is { Count: > 0 } h && h.TryGetLastBytes(SeqHeader, out var b) &&
                    producedAt.TryGetValue(BitConverter.ToInt64(b), out var at))
                {
                    seen.Add((BitConverter.ToInt64(b), Bench.Ms(Stopwatch.GetTimestamp() - at)));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        consumer.Close();
    }
}
