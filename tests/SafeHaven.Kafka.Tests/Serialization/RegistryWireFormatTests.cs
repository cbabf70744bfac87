using System.Buffers.Binary;
using System.Text;
using Avro;
using Avro.Specific;
using Confluent.Kafka;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;

namespace SafeHaven.Kafka.Tests.Serialization;

/// <summary>
/// Confluent's wire format through a Schema Registry (docs/DESIGN.md §4): magic byte 0, the 4-byte
/// big-endian schema id the registry assigned for subject <c>&lt;topic&gt;-value</c>, then the Avro
/// binary body. Undecodable values fail as <see cref="AvroDecodeException"/> (callers dead-letter
/// them), and neither deserializer accepts the other wire format.
/// </summary>
public sealed class RegistryWireFormatTests : IDisposable
{
    private const int RegistryHeaderLength = 5;

    private readonly InMemorySchemaRegistryClient _registry = new();
    private readonly KafkaSerdes _serdes;

    public RegistryWireFormatTests() => _serdes = new KafkaSerdes(_registry);

    public void Dispose() => _registry.Dispose();

    [Fact]
    public void CounterSample_is_framed_registered_and_round_trips() =>
        AssertWireFormat("safehaven.samples", SampleRecords.FullSample(), SampleRecords.MinimalSample());

    [Fact]
    public void Detection_is_framed_registered_and_round_trips() =>
        AssertWireFormat("safehaven.detections", SampleRecords.FullDetection(), SampleRecords.MinimalDetection());

    [Fact]
    public void IsolationCommand_is_framed_registered_and_round_trips() =>
        AssertWireFormat("safehaven.commands", SampleRecords.FullCommand(), SampleRecords.MinimalCommand());

    [Fact]
    public void IsolationResult_is_framed_registered_and_round_trips() =>
        AssertWireFormat("safehaven.results", SampleRecords.FullResult(), SampleRecords.MinimalResult());

    [Fact]
    public void EntityState_is_framed_registered_and_round_trips() =>
        AssertWireFormat("safehaven.inventory", SampleRecords.FullState(), SampleRecords.MinimalState());

    [Fact]
    public void DeadLetter_is_framed_registered_and_round_trips() =>
        AssertWireFormat("safehaven.dlq", SampleRecords.FullDeadLetter(), SampleRecords.MinimalDeadLetter());

    [Fact]
    public void Every_type_gets_its_own_id_under_its_own_value_subject()
    {
        var ids = new[]
        {
            IdOf(Serialize("t.samples", SampleRecords.FullSample())),
            IdOf(Serialize("t.detections", SampleRecords.FullDetection())),
            IdOf(Serialize("t.commands", SampleRecords.FullCommand())),
            IdOf(Serialize("t.results", SampleRecords.FullResult())),
            IdOf(Serialize("t.inventory", SampleRecords.FullState())),
            IdOf(Serialize("t.dlq", SampleRecords.FullDeadLetter())),
        };

        Assert.Equal(6, ids.Distinct().Count());
        var subjects = _registry.Subjects;
        Assert.Equal(
            new[] { "t.commands-value", "t.detections-value", "t.dlq-value", "t.inventory-value", "t.results-value", "t.samples-value" },
            subjects.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(ids[0], Assert.Single(subjects["t.samples-value"]));
        Assert.Equal(ids[5], Assert.Single(subjects["t.dlq-value"]));
    }

    [Fact]
    public void Registered_schemas_are_the_contracts_with_their_own_namespace()
    {
        // The registry holds the contract (schemas/*.avsc, safehaven.v1), not the generated class's copy under the
        // C# namespace: a SIEM or a Java consumer sees the published names (issue 12).
        var records = new ISpecificRecord[]
        {
            SampleRecords.FullSample(), SampleRecords.FullDetection(), SampleRecords.FullCommand(),
            SampleRecords.FullResult(), SampleRecords.FullState(), SampleRecords.FullDeadLetter(),
        };
        foreach (var record in records)
        {
            var name = record.GetType().Name;
            var bytes = SerializeUntyped("t." + name, record);
            var registered = _registry.SchemaById(IdOf(bytes));
            Assert.Equal(Confluent.SchemaRegistry.SchemaType.Avro, registered.SchemaType);

            var parsed = Assert.IsType<RecordSchema>(Schema.Parse(registered.SchemaString), exactMatch: false);
            var contract = (RecordSchema)ContractSchemas.Get(name);
            Assert.Equal("safehaven.v1." + name, parsed.Fullname);
            Assert.Equal(SchemaNormalization.ToParsingForm(contract), SchemaNormalization.ToParsingForm(parsed));
            Assert.DoesNotContain("SafeHaven.Schemas", registered.SchemaString, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Records_registered_under_the_generated_namespace_by_earlier_versions_still_decode()
    {
        // What Confluent's AvroSerializer wrote before: the class's own schema, names under SafeHaven.Schemas.
        var old = new Confluent.SchemaRegistry.Serdes.AvroSerializer<Detection>(_registry);
        var bytes = await old.SerializeAsync(SampleRecords.FullDetection(), new SerializationContext(MessageComponentType.Value, "t.old"));
        Assert.Contains("SafeHaven.Schemas", _registry.SchemaById(IdOf(bytes)).SchemaString, StringComparison.Ordinal);

        RecordAssert.Equal(SampleRecords.FullDetection(), KafkaSerdes.Decode(_serdes.Deserializer<Detection>(), bytes, "t.old"));
    }

    public static TheoryData<string, byte[]> Garbage()
    {
        var unknownId = new byte[] { 0, 0x7F, 0xEE, 0xDD, 0xCC, 0x02, 0x61 };
        return new TheoryData<string, byte[]>
        {
            { "text", Encoding.UTF8.GetBytes("this is not an avro record") },
            { "empty", [] },
            { "magic byte only", [0] },
            { "header cut short", [0, 0x01, 0x02] },
            { "unknown schema id", unknownId },
        };
    }

    [Theory]
    [MemberData(nameof(Garbage))]
    public void Garbage_fails_as_AvroDecodeException(string what, byte[] garbage)
    {
        // Register the type first, so that only the bytes are wrong.
        Serialize("t.samples", SampleRecords.FullSample());

        var e = Record.Exception(() => KafkaSerdes.Decode(_serdes.Deserializer<CounterSample>(), garbage, "t.samples"));
        Assert.True(e is AvroDecodeException, $"{what}: expected AvroDecodeException, got {e?.GetType().FullName ?? "no exception"}: {e}");
        Assert.StartsWith("CounterSample: ", e!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_known_id_with_a_truncated_body_fails_as_AvroDecodeException()
    {
        var bytes = Serialize("t.samples", SampleRecords.FullSample());
        var truncated = bytes[..(RegistryHeaderLength + 3)];

        Assert.Throws<AvroDecodeException>(() => KafkaSerdes.Decode(_serdes.Deserializer<CounterSample>(), truncated, "t.samples"));
    }

    [Fact]
    public void A_null_value_fails_as_AvroDecodeException() =>
        Assert.Throws<AvroDecodeException>(() => KafkaSerdes.Decode(_serdes.Deserializer<CounterSample>(), null, "t.samples"));

    [Fact]
    public void The_registry_deserializer_rejects_single_object_encoding()
    {
        Serialize("t.samples", SampleRecords.FullSample());
        var singleObject = new SingleObjectCodec<CounterSample>().Encode(SampleRecords.FullSample());
        Assert.Equal(0xC3, singleObject[0]);

        Assert.Throws<AvroDecodeException>(() => KafkaSerdes.Decode(_serdes.Deserializer<CounterSample>(), singleObject, "t.samples"));
    }

    [Fact]
    public void The_single_object_deserializer_rejects_the_registry_wire_format()
    {
        var framed = Serialize("t.samples", SampleRecords.FullSample());
        var plain = new KafkaSerdes();
        Assert.False(plain.UsesRegistry);
        Assert.True(_serdes.UsesRegistry);

        var e = Assert.Throws<AvroDecodeException>(() => KafkaSerdes.Decode(plain.Deserializer<CounterSample>(), framed, "t.samples"));
        Assert.Contains("single-object marker", e.Message, StringComparison.Ordinal);
    }

    private void AssertWireFormat<T>(string topic, T full, T minimal) where T : class, ISpecificRecord, new()
    {
        var first = Serialize(topic, full);
        var second = Serialize(topic, minimal);

        foreach (var (record, bytes) in new[] { (full, first), (minimal, second) })
        {
            Assert.True(bytes.Length > RegistryHeaderLength, $"{bytes.Length} bytes");
            Assert.Equal(0, bytes[0]);
            // The id, read big-endian, is the one the registry assigned for <topic>-value.
            var id = IdOf(bytes);
            Assert.Equal(id, Assert.Single(_registry.Subjects[topic + "-value"]));
            Assert.Equal(InMemorySchemaRegistryClient.FirstId, id);
            Assert.Equal(new byte[] { 0x01, 0x02, 0x03, 0x04 }, bytes[1..RegistryHeaderLength]);

            // The body is plain Avro binary: the same bytes as the single-object body.
            var singleObject = new SingleObjectCodec<T>().Encode(record);
            Assert.Equal(Convert.ToHexString(singleObject[SingleObjectCodec<T>.HeaderLength..]), Convert.ToHexString(bytes[RegistryHeaderLength..]));

            var decoded = KafkaSerdes.Decode(_serdes.Deserializer<T>(), bytes, topic);
            RecordAssert.Equal(record, decoded);
        }
        Assert.Single(_registry.Subjects);
    }

    private byte[] Serialize<T>(string topic, T record) where T : class, ISpecificRecord, new() =>
        _serdes.Serializer<T>().Serialize(record, new SerializationContext(MessageComponentType.Value, topic));

    private byte[] SerializeUntyped(string topic, ISpecificRecord record) => record switch
    {
        CounterSample r => Serialize(topic, r),
        Detection r => Serialize(topic, r),
        IsolationCommand r => Serialize(topic, r),
        IsolationResult r => Serialize(topic, r),
        EntityState r => Serialize(topic, r),
        DeadLetter r => Serialize(topic, r),
        _ => throw new ArgumentException(record.GetType().Name),
    };

    private static int IdOf(byte[] bytes) => BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(1, 4));
}
