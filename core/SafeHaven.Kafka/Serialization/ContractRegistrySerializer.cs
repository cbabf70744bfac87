using System.Buffers.Binary;
using System.Collections.Concurrent;
using Avro.Specific;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using SafeHaven.Schemas;

namespace SafeHaven.Kafka.Serialization;

/// <summary>
/// Confluent's wire format (magic 0, 4-byte big-endian schema id, Avro binary body) whose registered schema is the
/// contract itself (<c>schemas/*.avsc</c>, namespace <c>safehaven.v1</c>), under subject <c>TOPIC-value</c>.
/// Confluent's own <c>AvroSerializer</c> registers the generated class's schema, whose names carry the C# namespace
/// (<c>SafeHaven.Schemas.Detection</c>): a SIEM or a Java consumer would then see a schema that is not the contract.
/// The body is the same either way: names are not part of Avro binary.
/// </summary>
public sealed class ContractRegistrySerializer<T> : ISerializer<T> where T : class, ISpecificRecord, new()
{
    private readonly ISchemaRegistryClient _registry;
    private readonly SingleObjectCodec<T> _codec = new();
    private readonly string _contract;
    private readonly ConcurrentDictionary<string, int> _ids = new(StringComparer.Ordinal);

    /// <summary>Registers through <paramref name="registry"/>.</summary>
    public ContractRegistrySerializer(ISchemaRegistryClient registry)
    {
        _registry = registry ?? throw new ArgumentNullException(nameof(registry));
        _contract = ContractSchemas.Get(typeof(T).Name).ToString();
    }

    /// <inheritdoc/>
    public byte[] Serialize(T data, SerializationContext context)
    {
        var subject = $"{context.Topic}-{(context.Component == MessageComponentType.Key ? "key" : "value")}";
        // Registered once per subject and process; the registry answers the same id for the same schema text.
        var id = _ids.GetOrAdd(subject, s => _registry.RegisterSchemaAsync(s, new Schema(_contract, SchemaType.Avro)).GetAwaiter().GetResult());
        var singleObject = _codec.Encode(data);
        var body = singleObject.AsSpan(SingleObjectCodec<T>.HeaderLength);
        var bytes = new byte[5 + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(1, 4), id);
        body.CopyTo(bytes.AsSpan(5));
        return bytes;
    }
}
