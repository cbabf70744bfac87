using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Avro;
using Schema = Avro.Schema;
using Avro.Specific;
using Confluent.Kafka;
using Confluent.SchemaRegistry;

namespace SafeHaven.Kafka.Serialization;

/// <summary>
/// Reads Confluent's wire format into the generated records whatever namespace the writer schema has: the contract's
/// (<c>safehaven.v1</c>, what <see cref="ContractRegistrySerializer{T}"/> registers) or the generated C# one (what
/// earlier versions registered). Avro resolves records by full name, so the writer schema's names are mapped onto the
/// generated ones before resolution; fields then resolve as usual (added fields take their defaults).
/// </summary>
public sealed class ContractRegistryDeserializer<T> : IDeserializer<T> where T : class, ISpecificRecord, new()
{
    private const string ContractNamespace = "safehaven.v1";
    private static readonly Schema ClassSchema = new T().Schema;
    private static readonly string ClassNamespace = ((NamedSchema)ClassSchema).Namespace;
    private readonly ISchemaRegistryClient _registry;
    private readonly ConcurrentDictionary<int, Schema> _writers = new();

    /// <summary>Looks writer schemas up in <paramref name="registry"/>.</summary>
    public ContractRegistryDeserializer(ISchemaRegistryClient registry) => _registry = registry ?? throw new ArgumentNullException(nameof(registry));

    /// <inheritdoc/>
    public T Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context)
    {
        if (isNull)
        {
            return null!;
        }
        if (data.Length < 5 || data[0] != 0)
        {
            throw new AvroDecodeException($"{typeof(T).Name}: not Confluent's wire format (magic byte 0 and a 4-byte schema id)");
        }
        var id = BinaryPrimitives.ReadInt32BigEndian(data[1..5]);
        var writer = _writers.GetOrAdd(id, i => Mapped(_registry.GetSchemaAsync(i).GetAwaiter().GetResult().SchemaString));
        using var ms = new MemoryStream(data[5..].ToArray(), writable: false);
        var record = new SpecificDefaultReader(writer, ClassSchema).Read(new T(), new Avro.IO.BinaryDecoder(ms));
        if (ms.Position != ms.Length)
        {
            throw new AvroDecodeException($"{typeof(T).Name}: {ms.Length - ms.Position} bytes left after the record");
        }
        return record;
    }

    // The writer schema with the contract's namespace renamed to the generated one, everywhere a name can appear.
    private static Schema Mapped(string schemaText)
    {
        var node = JsonNode.Parse(schemaText);
        Rename(node);
        return Schema.Parse(node!.ToJsonString());
    }

    private static void Rename(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (name, value) in o.ToList())
                {
                    if (value is JsonValue v && v.TryGetValue<string>(out var s) && name is "namespace" or "name" or "type")
                    {
                        o[name] = s == ContractNamespace ? ClassNamespace
                            : s.StartsWith(ContractNamespace + ".", StringComparison.Ordinal) ? ClassNamespace + s[ContractNamespace.Length..] : s;
                    }
                    else
                    {
                        Rename(value);
                    }
                }
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    if (a[i] is JsonValue v && v.TryGetValue<string>(out var s) && s.StartsWith(ContractNamespace + ".", StringComparison.Ordinal))
                    {
                        a[i] = ClassNamespace + s[ContractNamespace.Length..];
                    }
                    else
                    {
                        Rename(a[i]);
                    }
                }
                break;
        }
    }
}
