using Avro.Specific;
using Confluent.Kafka;
using Confluent.Kafka.SyncOverAsync;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;

namespace SafeHaven.Kafka.Serialization;

/// <summary>Confluent.Kafka serializer over <see cref="SingleObjectCodec{T}"/>.</summary>
public sealed class SingleObjectSerializer<T> : ISerializer<T>, IDeserializer<T> where T : class, ISpecificRecord, new()
{
    /// <summary>The codec used.</summary>
    public SingleObjectCodec<T> Codec { get; } = new();

    /// <inheritdoc/>
    public byte[] Serialize(T data, SerializationContext context) => Codec.Encode(data);

    /// <inheritdoc/>
    public T Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context) =>
        isNull ? null! : Codec.Decode(data);
}

/// <summary>
/// Picks the wire format: Confluent's (magic 0, schema id, body) when a Schema Registry is
/// configured, Avro single-object encoding otherwise (docs/DESIGN.md §4).
/// </summary>
public sealed class KafkaSerdes
{
    private readonly ISchemaRegistryClient? _registry;

    /// <summary>Single-object encoding, no registry.</summary>
    public KafkaSerdes() { }

    /// <summary>Confluent's wire format through <paramref name="registry"/>.</summary>
    public KafkaSerdes(ISchemaRegistryClient registry) => _registry = registry ?? throw new ArgumentNullException(nameof(registry));

    /// <summary>True when a Schema Registry is in use.</summary>
    public bool UsesRegistry => _registry is not null;

    /// <summary>Value serializer for <typeparamref name="T"/>.</summary>
    public ISerializer<T> Serializer<T>() where T : class, ISpecificRecord, new() =>
        _registry is null ? new SingleObjectSerializer<T>() : new ContractRegistrySerializer<T>(_registry);

    /// <summary>Value deserializer for <typeparamref name="T"/>; failures throw (callers dead-letter them).</summary>
    public IDeserializer<T> Deserializer<T>() where T : class, ISpecificRecord, new() =>
        _registry is null ? new SingleObjectSerializer<T>() : new ContractRegistryDeserializer<T>(_registry);

    /// <summary>Decodes raw bytes, throwing <see cref="AvroDecodeException"/> for anything undecodable.</summary>
    public static T Decode<T>(IDeserializer<T> deserializer, byte[]? data, string topic) where T : class, ISpecificRecord, new()
    {
        ArgumentNullException.ThrowIfNull(deserializer);
        if (data is null)
        {
            throw new AvroDecodeException($"{typeof(T).Name}: null value");
        }
        try
        {
            return deserializer.Deserialize(data, false, new SerializationContext(MessageComponentType.Value, topic));
        }
        catch (AvroDecodeException)
        {
            throw;
        }
        catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException))
        {
            // Whatever a deserializer throws on bad bytes (Confluent's throws index errors for
            // values under 5 bytes), the record is undecodable: dead-letter it, keep consuming.
            throw new AvroDecodeException($"{typeof(T).Name}: {e.Message}", e);
        }
    }
}
