using System.Text;

namespace SafeHaven.Traces;

/// <summary>Reads the container format's primitives from a stream, knowing its offset, and names truncation and nonsense.</summary>
internal sealed class ContainerSource(Stream stream, string name) : IDisposable
{
    private readonly Stream _stream = new BufferedStream(stream, 1 << 16);

    public long Offset { get; private set; }

    public string Name { get; } = name;

    /// <summary>True at the end of the stream (nothing more to read).</summary>
    public bool AtEnd()
    {
        var b = _stream.ReadByte();
        if (b < 0)
        {
            return true;
        }
        _stream.Seek(-1, SeekOrigin.Current);
        return false;
    }

    public TraceFormatException Error(string what) => new($"{Name}: {what} (at byte {Offset})");

    public byte[] ReadExactly(long count, string what)
    {
        if (count < 0 || count > TraceCodecs.MaxBlockBytes)
        {
            throw Error($"{what}: length {count} is impossible; the file is corrupt");
        }
        var bytes = new byte[count];
        var read = _stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        if (read < count)
        {
            throw Error($"truncated: {what} needs {count} bytes, the file ends after {read}");
        }
        Offset += count;
        return bytes;
    }

    public long ReadLong(string what)
    {
        ulong n = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = _stream.ReadByte();
            if (b < 0)
            {
                throw Error($"truncated: the file ends inside {what}");
            }
            Offset++;
            n |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return (long)(n >> 1) ^ -(long)(n & 1);
            }
        }
        throw Error($"{what} is not a valid varint; the file is corrupt");
    }

    public string ReadString(string what) => Encoding.UTF8.GetString(ReadExactly(ReadLong(what), what));

    public void Dispose() => _stream.Dispose();
}
