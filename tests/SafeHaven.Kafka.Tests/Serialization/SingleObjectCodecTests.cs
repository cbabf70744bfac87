using System.Buffers.Binary;
using System.Text;
using Avro;
using Avro.Specific;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;

namespace SafeHaven.Kafka.Tests.Serialization;

/// <summary>Avro single-object encoding of every contract record (docs/DESIGN.md §4).</summary>
public sealed class SingleObjectCodecTests
{
    [Fact]
    public void CounterSample_round_trips_with_every_field_set_and_with_nulls() =>
        AssertRoundTrips(SampleRecords.FullSample(), SampleRecords.MinimalSample());

    [Fact]
    public void Detection_round_trips_with_every_field_set_and_with_nulls() =>
        AssertRoundTrips(SampleRecords.FullDetection(), SampleRecords.MinimalDetection());

    [Fact]
    public void IsolationCommand_round_trips_with_every_field_set_and_with_nulls() =>
        AssertRoundTrips(SampleRecords.FullCommand(), SampleRecords.MinimalCommand());

    [Fact]
    public void IsolationResult_round_trips_with_every_field_set_and_with_nulls() =>
        AssertRoundTrips(SampleRecords.FullResult(), SampleRecords.MinimalResult());

    [Fact]
    public void EntityState_round_trips_with_every_field_set_and_with_nulls() =>
        AssertRoundTrips(SampleRecords.FullState(), SampleRecords.MinimalState());

    [Fact]
    public void DeadLetter_round_trips_with_every_field_set_and_with_nulls() =>
        AssertRoundTrips(SampleRecords.FullDeadLetter(), SampleRecords.MinimalDeadLetter());

    [Fact]
    public void Round_trip_keeps_the_values_that_matter_downstream()
    {
        var sample = new SingleObjectCodec<CounterSample>().Decode(new SingleObjectCodec<CounterSample>().Encode(SampleRecords.FullSample()));
        Assert.Equal(long.MinValue, sample.values["proc:majflt"]);
        Assert.Equal(9_007_199_254_740_993, sample.seq);
        Assert.Equal(424_242, sample.entity.pid);
        Assert.Equal("spy-\u00e9\u4e2d", sample.entity.comm);

        var command = new SingleObjectCodec<IsolationCommand>().Decode(new SingleObjectCodec<IsolationCommand>().Encode(SampleRecords.FullCommand()));
        Assert.Equal(SampleRecords.FullCommand().signature, command.signature);
        Assert.Null(new SingleObjectCodec<IsolationCommand>().Decode(new SingleObjectCodec<IsolationCommand>().Encode(SampleRecords.MinimalCommand())).detectionId);
    }

    [Fact]
    public void Crc64Avro_in_this_test_matches_known_answers_of_other_avro_implementations()
    {
        // Fingerprints of the primitive schemas "int" and "string" (Ruby and Go Avro test suites).
        Assert.Equal(0x7275d51a3f395c8fUL, Crc64Avro.Fingerprint("\"int\""u8));
        Assert.Equal(0x8f014872634503c7UL, Crc64Avro.Fingerprint("\"string\""u8));
        Assert.Equal(Crc64Avro.Empty, Crc64Avro.Fingerprint([]));
    }

    [Fact]
    public void Header_is_the_marker_and_the_contract_fingerprint_for_every_type()
    {
        AssertHeader(SampleRecords.FullSample());
        AssertHeader(SampleRecords.FullDetection());
        AssertHeader(SampleRecords.FullCommand());
        AssertHeader(SampleRecords.FullResult());
        AssertHeader(SampleRecords.FullState());
        AssertHeader(SampleRecords.FullDeadLetter());
    }

    [Fact]
    public void Fingerprints_of_the_record_types_are_distinct()
    {
        long[] fingerprints =
        [
            new SingleObjectCodec<CounterSample>().Fingerprint,
            new SingleObjectCodec<Detection>().Fingerprint,
            new SingleObjectCodec<IsolationCommand>().Fingerprint,
            new SingleObjectCodec<IsolationResult>().Fingerprint,
            new SingleObjectCodec<EntityState>().Fingerprint,
            new SingleObjectCodec<DeadLetter>().Fingerprint,
        ];
        Assert.Equal(fingerprints.Length, fingerprints.Distinct().Count());
    }

    [Fact]
    public void Decoding_rejects_a_value_shorter_than_the_header()
    {
        var codec = new SingleObjectCodec<Detection>();
        var e = Assert.Throws<AvroDecodeException>(() => codec.Decode(new byte[] { 0xC3, 0x01, 0x00, 0x00, 0x00 }));
        Assert.Contains("Detection", e.Message, StringComparison.Ordinal);
        Assert.Contains("5 bytes is shorter than the single-object header", e.Message, StringComparison.Ordinal);
        Assert.Contains("0 bytes", Assert.Throws<AvroDecodeException>(() => codec.Decode([])).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 0x00)]
    [InlineData(0, 0xC2)]
    [InlineData(1, 0x00)]
    [InlineData(1, 0x02)]
    public void Decoding_rejects_a_wrong_marker(int index, byte replacement)
    {
        var codec = new SingleObjectCodec<Detection>();
        var data = codec.Encode(SampleRecords.FullDetection());
        data[index] = replacement;
        var e = Assert.Throws<AvroDecodeException>(() => codec.Decode(data));
        Assert.Contains("Detection", e.Message, StringComparison.Ordinal);
        Assert.Contains("no Avro single-object marker C3 01", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decoding_rejects_the_value_of_another_record_type_by_its_fingerprint()
    {
        var detection = new SingleObjectCodec<Detection>().Encode(SampleRecords.FullDetection());
        var codec = new SingleObjectCodec<CounterSample>();
        var e = Assert.Throws<AvroDecodeException>(() => codec.Decode(detection));
        var foreign = new SingleObjectCodec<Detection>().Fingerprint;
        Assert.Contains("CounterSample: unknown writer schema fingerprint", e.Message, StringComparison.Ordinal);
        Assert.Contains($"{foreign:X16}", e.Message, StringComparison.Ordinal);
        Assert.Contains($"{codec.Fingerprint:X16}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decoding_rejects_the_fingerprint_of_the_CSharp_namespace_schema()
    {
        // Same fields, namespace SafeHaven.Schemas instead of safehaven.v1: not the contract.
        var codec = new SingleObjectCodec<Detection>();
        var data = codec.Encode(SampleRecords.FullDetection());
        var csharpFingerprint = SchemaNormalization.ParsingFingerprint64(new Detection().Schema);
        Assert.NotEqual(codec.Fingerprint, csharpFingerprint);
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(2), csharpFingerprint);
        var e = Assert.Throws<AvroDecodeException>(() => codec.Decode(data));
        Assert.Contains("unknown writer schema fingerprint", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decoding_rejects_every_truncation_of_the_body()
    {
        AssertEveryTruncationRejected(SampleRecords.FullSample());
        AssertEveryTruncationRejected(SampleRecords.FullDetection());
        AssertEveryTruncationRejected(SampleRecords.FullCommand());
        AssertEveryTruncationRejected(SampleRecords.FullResult());
        AssertEveryTruncationRejected(SampleRecords.FullState());
        AssertEveryTruncationRejected(SampleRecords.FullDeadLetter());
        AssertEveryTruncationRejected(SampleRecords.MinimalDeadLetter());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(17)]
    public void Decoding_rejects_trailing_bytes(int extra)
    {
        var codec = new SingleObjectCodec<IsolationResult>();
        var data = codec.Encode(SampleRecords.FullResult()).Concat(new byte[extra]).ToArray();
        var e = Assert.Throws<AvroDecodeException>(() => codec.Decode(data));
        Assert.Contains($"IsolationResult: {extra} bytes left after the record", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decoding_a_corrupt_body_throws_AvroDecodeException_only()
    {
        // A union index out of range, and a negative string length, right after the header.
        var codec = new SingleObjectCodec<DeadLetter>();
        var header = codec.Encode(SampleRecords.MinimalDeadLetter()).AsSpan(0, SingleObjectCodec<DeadLetter>.HeaderLength).ToArray();
        byte[] negativeLength = [.. header, 0x03];            // topic: string length -2
        var e = Assert.Throws<AvroDecodeException>(() => codec.Decode(negativeLength));
        Assert.Contains("DeadLetter: body does not decode", e.Message, StringComparison.Ordinal);

        byte[] badUnion = [.. header, 0x02, 0x61, 0x00, 0x00, 0x08]; // topic "a", partition 0, offset 0, key branch 4
        e = Assert.Throws<AvroDecodeException>(() => codec.Decode(badUnion));
        Assert.Contains("DeadLetter: body does not decode", e.Message, StringComparison.Ordinal);
    }

    private static void AssertRoundTrips<T>(params T[] records) where T : class, ISpecificRecord, new()
    {
        var codec = new SingleObjectCodec<T>();
        foreach (var record in records)
        {
            var data = codec.Encode(record);
            RecordAssert.Equal(record, codec.Decode(data));
            // Another codec instance decodes it too, and re-encoding the decoded record gives the same bytes.
            RecordAssert.Equal(record, new SingleObjectCodec<T>().Decode(data));
            Assert.Equal(data, codec.Encode(codec.Decode(data)));
        }
    }

    private static void AssertHeader<T>(T record) where T : class, ISpecificRecord, new()
    {
        var codec = new SingleObjectCodec<T>();
        var data = codec.Encode(record);
        var contract = ContractSchemas.Get(typeof(T).Name);
        var canonical = SchemaNormalization.ToParsingForm(contract);
        Assert.StartsWith($"{{\"name\":\"safehaven.v1.{typeof(T).Name}\",\"type\":\"record\"", canonical, StringComparison.Ordinal);
        Assert.DoesNotContain("\"doc\"", canonical, StringComparison.Ordinal);
        Assert.DoesNotContain("SafeHaven.Schemas", canonical, StringComparison.Ordinal);
        if (((RecordSchema)contract).Fields.Any(f => f.Name == "entity"))
        {
            // EntityRef, from its own .avsc, is written out in full inside every record that uses it.
            Assert.Contains("{\"name\":\"entity\",\"type\":{\"name\":\"safehaven.v1.EntityRef\",\"type\":\"record\",\"fields\":[", canonical, StringComparison.Ordinal);
        }

        var expected = Crc64Avro.Fingerprint(Encoding.UTF8.GetBytes(canonical));
        Assert.Equal(expected, unchecked((ulong)codec.Fingerprint));
        Assert.Equal(0xC3, data[0]);
        Assert.Equal(0x01, data[1]);
        Assert.Equal(expected, BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(2, 8)));
        Assert.Equal(10, SingleObjectCodec<T>.HeaderLength);
    }

    private static void AssertEveryTruncationRejected<T>(T record) where T : class, ISpecificRecord, new()
    {
        var codec = new SingleObjectCodec<T>();
        var data = codec.Encode(record);
        for (var length = SingleObjectCodec<T>.HeaderLength; length < data.Length; length++)
        {
            var cut = data.AsSpan(0, length).ToArray();
            var e = Assert.Throws<AvroDecodeException>(() => codec.Decode(cut));
            Assert.True(e.Message.StartsWith($"{typeof(T).Name}: body does not decode", StringComparison.Ordinal),
                $"{typeof(T).Name} cut to {length} of {data.Length} bytes: {e.Message}");
        }
    }
}
