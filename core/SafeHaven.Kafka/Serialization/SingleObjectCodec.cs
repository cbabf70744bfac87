using System.Buffers.Binary;
using Avro;
using Avro.IO;
using Avro.Specific;
using SafeHaven.Schemas;

namespace SafeHaven.Kafka.Serialization;

/// <summary>A value could not be decoded; the message says why (it goes to the dead-letter topic).</summary>
public sealed class AvroDecodeException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A decoded record outside the consumer's bounds (<c>RecordBounds</c>): dead-lettered with the message as the reason.</summary>
public sealed class RecordRejectedException(string reason) : Exception(reason)
{
    /// <summary>Throws when <paramref name="problem"/> is not null; the message names the record type.</summary>
    public static T Require<T>(T record, string? problem) =>
        problem is null ? record : throw new RecordRejectedException($"{typeof(T).Name} out of bounds: {problem}");
}

/// <summary>
/// Avro single-object encoding (Avro specification): <c>C3 01</c>, the 8-byte little-endian
/// CRC-64-AVRO fingerprint of the writer schema, then the Avro binary body. The fingerprint is
/// that of the public contract in <c>schemas/</c> (namespace <c>safehaven.v1</c>), so any Avro
/// library can decode with the <c>.avsc</c> files alone.
/// </summary>
/// <typeparam name="T">A generated record type.</typeparam>
public sealed class SingleObjectCodec<T> where T : class, ISpecificRecord, new()
{
    /// <summary>Length of the header: marker (2) + fingerprint (8).</summary>
    public const int HeaderLength = 10;

    private static readonly Schema ClassSchema = new T().Schema;

    // Writers and readers are not thread-safe; one per thread and record type avoids both
    // locking and a fresh allocation per record on the hot path.
    [ThreadStatic]
    private static (MemoryStream Stream, BinaryEncoder Encoder, SpecificDefaultWriter Writer)? t_write;

    [ThreadStatic]
    private static SpecificDefaultReader? t_read;

    private readonly byte[] _header = new byte[HeaderLength];

    /// <summary>Creates the codec for <typeparamref name="T"/>'s contract.</summary>
    public SingleObjectCodec()
    {
        Contract = ContractSchemas.Get(typeof(T).Name);
        Fingerprint = SchemaNormalization.ParsingFingerprint64(Contract);
        _header[0] = 0xC3;
        _header[1] = 0x01;
        BinaryPrimitives.WriteInt64LittleEndian(_header.AsSpan(2), Fingerprint);
    }

    /// <summary>The contract schema (writer schema on the wire).</summary>
    public Schema Contract { get; }

    /// <summary>CRC-64-AVRO fingerprint of <see cref="Contract"/>'s parsing canonical form.</summary>
    public long Fingerprint { get; }

    /// <summary>Encodes one record.</summary>
    public byte[] Encode(T record)
    {
        ArgumentNullException.ThrowIfNull(record);
        t_write ??= NewWriter();
        var (ms, encoder, writer) = t_write.Value;
        ms.SetLength(0);
        ms.Write(_header);
        writer.Write(ClassSchema, record, encoder);
        encoder.Flush();
        return ms.ToArray();
    }

    private static (MemoryStream, BinaryEncoder, SpecificDefaultWriter) NewWriter()
    {
        var ms = new MemoryStream(256);
        return (ms, new BinaryEncoder(ms), new SpecificDefaultWriter(ClassSchema));
    }

    /// <summary>Decodes one record, or throws <see cref="AvroDecodeException"/> naming the problem.</summary>
    public T Decode(ReadOnlySpan<byte> data)
    {
        if (data.Length < HeaderLength)
        {
            throw new AvroDecodeException($"{typeof(T).Name}: {data.Length} bytes is shorter than the single-object header");
        }
        if (data[0] != 0xC3 || data[1] != 0x01)
        {
            throw new AvroDecodeException($"{typeof(T).Name}: no Avro single-object marker C3 01 (got {data[0]:X2} {data[1]:X2})");
        }
        var fp = BinaryPrimitives.ReadInt64LittleEndian(data[2..]);
        if (fp != Fingerprint)
        {
            throw new AvroDecodeException($"{typeof(T).Name}: unknown writer schema fingerprint {fp:X16} (expected {Fingerprint:X16})");
        }
        try
        {
            using var ms = new MemoryStream(data[HeaderLength..].ToArray(), writable: false);
            var record = new T();
            record = (t_read ??= new SpecificDefaultReader(ClassSchema, ClassSchema)).Read(record, new BinaryDecoder(ms));
            if (ms.Position != ms.Length)
            {
                throw new AvroDecodeException($"{typeof(T).Name}: {ms.Length - ms.Position} bytes left after the record");
            }
            return record;
        }
        catch (Exception e) when (e is AvroException or EndOfStreamException or IOException or InvalidCastException or OverflowException)
        {
            throw new AvroDecodeException($"{typeof(T).Name}: body does not decode: {e.Message}", e);
        }
    }
}
