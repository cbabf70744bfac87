using Confluent.Kafka;
using SafeHaven.Schemas;
using SafeHaven.Core;

namespace SafeHaven.Kafka.Serialization;

/// <summary>
/// Exercises the Avro paths once at start-up. The first record of a type pays for JIT and
/// Apache.Avro's reflection caches (several ms); without this, the first detection, command and
/// result of a process, exactly the ones an attack causes, would be the slowest.
/// </summary>
public static class WarmUp
{
    /// <summary>Encodes and decodes one record of each contract type (single-object encoding only; a registry would be called).</summary>
    public static void Codecs(KafkaSerdes serdes)
    {
        ArgumentNullException.ThrowIfNull(serdes);
        if (serdes.UsesRegistry)
        {
            return;
        }
        var entity = new EntityRef { datacenter = "warm", host = "warm", pid = 1, comm = "warm" };
        RoundTrip(serdes, new CounterSample { host = "warm", entity = entity, values = new Dictionary<string, long> { ["cs"] = 1 }, intervalNs = 1 });
        RoundTrip(serdes, new Detection { detectionId = "w", entity = entity, rule = "w", counter = "cs", scope = "core" });
        RoundTrip(serdes, new IsolationCommand { commandId = "w", entity = entity, level = "core", action = "isolate", source = "w", target = "0", reasons = ["w"], signature = [] });
        RoundTrip(serdes, new IsolationResult { commandId = "w", entity = entity, level = "core", status = "skipped", actuator = "w", phases = new Dictionary<string, long> { ["w"] = 1 } });
        RoundTrip(serdes, new EntityState { entityId = "w", kind = InventoryKinds.Host, entity = entity, levels = [], counterStatus = new Dictionary<string, string>(), attributes = new Dictionary<string, string>() });
        RoundTrip(serdes, new DeadLetter { topic = "w", reason = "w", consumer = "w" });
        // The probe's record and the detector's decoder of it.
        var batch = new SampleBatch
        {
            host = "warm", datacenter = "warm", counters = ["cs"],
            samples = [new SampleEntry { pid = 1, comm = "warm", intervalNs = 1, values = [1] }],
        };
        RoundTrip(serdes, batch);
        new SampleBatchDecoder().Decode(serdes.Serializer<SampleBatch>().Serialize(batch, new SerializationContext(MessageComponentType.Value, "warm")));
    }

    /// <summary>
    /// Fetches <paramref name="topics"/>' metadata through <paramref name="producer"/>'s own
    /// connection, so that its first produce to them does not wait for a metadata round trip.
    /// Any client works (a Streamiz producer of bytes too): the lookup goes through its handle, which
    /// also creates the handle's topic objects and so its partitions' leader connections.
    /// </summary>
    public static void Metadata(IClient producer, IEnumerable<string> topics, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(producer);
        ArgumentNullException.ThrowIfNull(topics);
        using var admin = new DependentAdminClientBuilder(producer.Handle).Build();
        foreach (var topic in topics)
        {
            admin.GetMetadata(topic, timeout);
        }
    }

    private static void RoundTrip<T>(KafkaSerdes serdes, T record) where T : class, Avro.Specific.ISpecificRecord, new()
    {
        var context = new SerializationContext(MessageComponentType.Value, "warm-up");
        var bytes = serdes.Serializer<T>().Serialize(record, context);
        serdes.Deserializer<T>().Deserialize(bytes, false, context);
    }
}
