using SafeHaven.Core.Bounds;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.Processors.Public;
using Streamiz.Kafka.Net.SerDes;
using Streamiz.Kafka.Net.Stream;
using SafeHaven.StreamProcessors.Streams;

namespace SafeHaven.StreamProcessors.Siem;

/// <summary>
/// The SIEM projector: <c>detections</c> and <c>results</c> → one JSON event each on <c>siem</c> (OCSF by default,
/// ECS on request), keyed by entity id; records that fail their seal, bounds or decoding go to <c>dlq</c>. Stateless,
/// so it needs no internal topics.
/// </summary>
public static class SiemTopology
{
    /// <summary>Builds the topology.</summary>
    /// <param name="topics">Topic names.</param>
    /// <param name="projection">The dialect (<see cref="SiemProjection.For"/>).</param>
    /// <param name="serdes">The deployment's serdes (to read the Avro topics).</param>
    /// <param name="time">Clock of dead letters and bounds.</param>
    /// <param name="metrics">Counters.</param>
    /// <param name="bounds">Record bounds (default <see cref="RecordBounds.Replay"/>: sizes, no time window).</param>
    /// <param name="seals">Keys to check detections and results against (docs/SECURITY.md); none by default.</param>
    public static Topology Build(TopicNames topics, ISiemProjection projection, KafkaSerdes serdes, TimeProvider time, SiemMetrics metrics,
        RecordBounds? bounds = null, RoleSeals? seals = null)
    {
        ArgumentNullException.ThrowIfNull(topics);
        ArgumentNullException.ThrowIfNull(serdes);
        var builder = new StreamBuilder();
        var detections = builder.Stream<byte[], byte[], ByteArraySerDes, ByteArraySerDes>(topics.Detections);
        var results = builder.Stream<byte[], byte[], ByteArraySerDes, ByteArraySerDes>(topics.Results);
        var outputs = detections.Merge(results)
            .Transform(
                TransformerBuilder.New<byte[], byte[], string, SiemOutput>()
                    .Transformer<SiemTransformer>(projection, serdes, topics.Detections, seals ?? RoleSeals.None, bounds ?? RecordBounds.Replay, time, metrics)
                    .Build(),
                "siem-projector");
        var deadLetters = new StreamizAvroSerDes<DeadLetter>(serdes.Serializer<DeadLetter>(), serdes.Deserializer<DeadLetter>());
        outputs.Filter((_, o, _) => o.Event is not null)
            .MapValues((o, _) => o.Event!)
            .To(topics.Siem, new StringSerDes(), new StringSerDes());
        outputs.Filter((_, o, _) => o.DeadLetter is not null)
            .MapValues((o, _) => o.DeadLetter!)
            .To(topics.Dlq, new StringSerDes(), deadLetters);
        return builder.Build();
    }
}
