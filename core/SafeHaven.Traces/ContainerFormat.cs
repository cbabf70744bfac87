using System.Text;

namespace SafeHaven.Traces;

/// <summary>The pieces of the Avro object container file format (Avro specification, "Object Container Files").</summary>
internal static class ContainerFormat
{
    /// <summary>"Obj" and format version 1.</summary>
    public static ReadOnlySpan<byte> Magic => "Obj\u0001"u8;

    public const int SyncLength = 16;

    public const string SchemaKey = "avro.schema";
    public const string CodecKey = "avro.codec";

    /// <summary>Trace format version (metadata <c>safehaven.trace</c>), so later writers can say what they changed.</summary>
    public const string VersionKey = "safehaven.trace";
    public const string Version = "1";

    /// <summary>Avro's zig-zag varint encoding of a long.</summary>
    public static void WriteLong(Stream stream, long value)
    {
        var n = (ulong)((value << 1) ^ (value >> 63));
        while (n >= 0x80)
        {
            stream.WriteByte((byte)(n | 0x80));
            n >>= 7;
        }
        stream.WriteByte((byte)n);
    }

    public static void WriteBytes(Stream stream, ReadOnlySpan<byte> bytes)
    {
        WriteLong(stream, bytes.Length);
        stream.Write(bytes);
    }

    /// <summary>The header: magic, the metadata map (one block), the sync marker.</summary>
    public static byte[] Header(IReadOnlyDictionary<string, string> metadata, ReadOnlySpan<byte> sync)
    {
        using var ms = new MemoryStream();
        ms.Write(Magic);
        WriteLong(ms, metadata.Count);
        foreach (var (key, value) in metadata)
        {
            WriteBytes(ms, Encoding.UTF8.GetBytes(key));
            WriteBytes(ms, Encoding.UTF8.GetBytes(value));
        }
        WriteLong(ms, 0);
        ms.Write(sync);
        return ms.ToArray();
    }
}
