using System.IO.Compression;
using ZstdSharp;

namespace SafeHaven.Traces;

/// <summary>Block compression of a trace file (the Avro <c>avro.codec</c> metadata).</summary>
public enum TraceCodec
{
    /// <summary><c>null</c>: uncompressed.</summary>
    Null,

    /// <summary><c>deflate</c>: raw RFC 1951 deflate, as the Avro specification says; every Avro library reads it.</summary>
    Deflate,

    /// <summary><c>zstandard</c>: one zstd frame per block, with the frame's content checksum (python3-avro needs python3-zstandard).</summary>
    Zstandard,
}

/// <summary>Names and block (de)compression of <see cref="TraceCodec"/>.</summary>
public static class TraceCodecs
{
    /// <summary>Largest decompressed block accepted: a hostile file cannot make the reader allocate more.</summary>
    public const int MaxBlockBytes = 64 * 1024 * 1024;

    /// <summary>The Avro name of <paramref name="codec"/>.</summary>
    public static string Name(TraceCodec codec) => codec switch
    {
        TraceCodec.Null => "null",
        TraceCodec.Deflate => "deflate",
        TraceCodec.Zstandard => "zstandard",
        _ => throw new ArgumentOutOfRangeException(nameof(codec), codec, null),
    };

    /// <summary>The codec of an Avro name (<c>zstd</c> accepted for <c>zstandard</c>), or null when unsupported.</summary>
    public static TraceCodec? Parse(string name) => name switch
    {
        "null" => TraceCodec.Null,
        "deflate" => TraceCodec.Deflate,
        "zstandard" or "zstd" => TraceCodec.Zstandard,
        _ => null,
    };

    internal static byte[] Compress(TraceCodec codec, ReadOnlySpan<byte> data)
    {
        switch (codec)
        {
            case TraceCodec.Null:
                return data.ToArray();
            case TraceCodec.Deflate:
                using (var ms = new MemoryStream())
                {
                    using (var deflate = new DeflateStream(ms, CompressionLevel.Fastest, leaveOpen: true))
                    {
                        deflate.Write(data);
                    }
                    return ms.ToArray();
                }
            default:
                using (var zstd = new Compressor(3))
                {
                    // Avro blocks carry no checksum of their own: the frame's lets a reader refuse a damaged block.
                    zstd.SetParameter(ZstdSharp.Unsafe.ZSTD_cParameter.ZSTD_c_checksumFlag, 1);
                    return zstd.Wrap(data).ToArray();
                }
        }
    }

    /// <exception cref="InvalidDataException">The block does not decompress, or exceeds <see cref="MaxBlockBytes"/>.</exception>
    internal static byte[] Decompress(TraceCodec codec, byte[] data)
    {
        if (codec == TraceCodec.Null)
        {
            return data;
        }
        try
        {
            using var input = new MemoryStream(data, writable: false);
            using Stream inflate = codec == TraceCodec.Deflate ? new DeflateStream(input, CompressionMode.Decompress) : new DecompressionStream(input);
            using var output = new MemoryStream();
            var buffer = new byte[81920];
            int n;
            while ((n = inflate.Read(buffer)) > 0)
            {
                if (output.Length + n > MaxBlockBytes)
                {
                    throw new InvalidDataException($"block decompresses to more than {MaxBlockBytes} bytes");
                }
                output.Write(buffer, 0, n);
            }
            return output.ToArray();
        }
        catch (Exception e) when (e is ZstdException or IOException && e is not InvalidDataException)
        {
            throw new InvalidDataException($"{Name(codec)} block does not decompress: {e.Message}", e);
        }
    }
}
