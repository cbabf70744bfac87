using SafeHaven.Core.Bounds;
using SafeHaven.Core.Detector;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.Processors.Public;
using Streamiz.Kafka.Net.SerDes;
using Streamiz.Kafka.Net.State;
using Streamiz.Kafka.Net.Stream;
using SafeHaven.StreamProcessors.Streams;

namespace SafeHaven.StreamProcessors.Detection;

/// <summary>
/// The detector: <c>samples</c> (batches of one host's tick, or single samples) → per-entity rule
/// state → <c>detections</c>, with undecodable or invalid samples to <c>dlq</c> (one dead letter per
/// bad entry of a batch). Samples are keyed by host and an entity never changes host,
/// so per-entity state lives in the sample's own partition and no repartition topic is needed.
/// </summary>
public static class DetectorTopology
{
    /// <summary>Name of the rule-state store.</summary>
    public const string StoreName = "rule-state";

    /// <summary>Internal topics the topology needs, which must exist before it starts (the embedded broker cannot create them).</summary>
    public static IReadOnlyList<TopicSpec> InternalTopics(string applicationId, int partitions) =>
        [new TopicSpec($"{applicationId}-{StoreName}-changelog", partitions, Compacted: true)];

    /// <summary>
    /// Builds the topology; samples outside <paramref name="bounds"/> are dead-lettered. The default,
    /// <see cref="RecordBounds.Replay"/>, checks sizes but not the time window, since recorded traces replay through this
    /// same topology; the live detector passes the deployment's windowed bounds.
    /// </summary>
    /// <param name="topics">Topic names.</param>
    /// <param name="engine">The rules engine.</param>
    /// <param name="serdes">The deployment's serdes.</param>
    /// <param name="time">Clock of dead letters and bounds.</param>
    /// <param name="metrics">Counters.</param>
    /// <param name="bounds">Record bounds (default <see cref="RecordBounds.Replay"/>).</param>
    /// <param name="seals">Probe keys to check samples against and the detector's key to seal detections (docs/SECURITY.md); none by default.</param>
    /// <param name="cluster">This deployment's cluster id, written into every detection (<c>Detection.cluster</c>); null: none.</param>
    public static Topology Build(TopicNames topics, DetectorEngine engine, KafkaSerdes serdes, TimeProvider time, DetectorMetrics metrics,
        RecordBounds? bounds = null, SafeHaven.Kafka.Clients.RoleSeals? seals = null, string? cluster = null)
    {
        ArgumentNullException.ThrowIfNull(topics);
        ArgumentNullException.ThrowIfNull(serdes);
        var builder = new StreamBuilder();
        var store = Stores.KeyValueStoreBuilder(Stores.InMemoryKeyValueStore(StoreName), new StringSerDes(), new ByteArraySerDes());
        var outputs = builder.Stream<byte[], byte[], ByteArraySerDes, ByteArraySerDes>(topics.Samples)
            .Transform(
                TransformerBuilder.New<byte[], byte[], string, DetectorOutput>()
                    .Transformer<DetectorTransformer>(engine, serdes, StoreName, time, metrics, bounds ?? RecordBounds.Replay,
                        seals ?? SafeHaven.Kafka.Clients.RoleSeals.None, topics.Detections, cluster ?? "")
                    .StateStore(store)
                    .Build(),
                "detector");
        var detections = new StreamizAvroSerDes<SafeHaven.Schemas.Detection>(
            serdes.Serializer<SafeHaven.Schemas.Detection>(), serdes.Deserializer<SafeHaven.Schemas.Detection>());
        var deadLetters = new StreamizAvroSerDes<DeadLetter>(serdes.Serializer<DeadLetter>(), serdes.Deserializer<DeadLetter>());
        outputs.Filter((_, o, _) => o.Detection is not null)
            .MapValues((o, _) => o.Detection!)
            .To(topics.Detections, new StringSerDes(), detections);
        outputs.Filter((_, o, _) => o.DeadLetter is not null)
            .MapValues((o, _) => o.DeadLetter!)
            .To(topics.Dlq, new StringSerDes(), deadLetters);
        return builder.Build();
    }
}
