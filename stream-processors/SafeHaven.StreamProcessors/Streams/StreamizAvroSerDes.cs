using Avro.Specific;
using Confluent.Kafka;
using SafeHaven.Kafka.Serialization;
using Streamiz.Kafka.Net.SerDes;

namespace SafeHaven.StreamProcessors.Streams;

/// <summary>Streamiz serdes over a Confluent.Kafka serializer pair (single-object or registry).</summary>
public sealed class StreamizAvroSerDes<T>(ISerializer<T> serializer, IDeserializer<T> deserializer) : AbstractSerDes<T>
    where T : class, ISpecificRecord, new()
{
    /// <summary>Single-object encoding.</summary>
    public StreamizAvroSerDes()
        : this(new SingleObjectSerializer<T>(), new SingleObjectSerializer<T>())
    {
    }

    /// <inheritdoc/>
    public override byte[] Serialize(T data, SerializationContext context) => serializer.Serialize(data, context);

    /// <inheritdoc/>
    public override T Deserialize(byte[] data, SerializationContext context) =>
        deserializer.Deserialize(data, data is null, context);
}
