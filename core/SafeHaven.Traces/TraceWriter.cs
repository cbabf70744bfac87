using System.Security.Cryptography;
using Avro.IO;
using Avro.Specific;
using SafeHaven.Schemas;

namespace SafeHaven.Traces;

/// <summary>Settings of a <see cref="TraceWriter"/>.</summary>
public sealed class TraceWriterOptions
{
    /// <summary>Block compression. Default <see cref="TraceCodec.Zstandard"/>.</summary>
    public TraceCodec Codec { get; init; } = TraceCodec.Zstandard;

    /// <summary>A block is written once this many uncompressed bytes are buffered. Default 256 KiB.</summary>
    public int BlockBytes { get; init; } = 256 * 1024;

    /// <summary>Extra metadata written into the header (e.g. where and when it was recorded); keys must not start with <c>avro.</c>.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// Writes a trace: an Avro object container file of <c>safehaven.v1.TraceRecord</c> (docs/TRACES.md). Records are
/// buffered and written a block at a time; every block is complete on disk when <see cref="Flush"/> returns, so a
/// recorder that flushes regularly and on Ctrl-C leaves a valid file. Not thread-safe.
/// </summary>
public sealed class TraceWriter : IDisposable
{
    private static readonly Avro.Schema ClassSchema = new TraceRecord().Schema;

    private readonly Stream _stream;
    private readonly TraceCodec _codec;
    private readonly int _blockBytes;
    private readonly byte[] _sync = RandomNumberGenerator.GetBytes(ContainerFormat.SyncLength);
    private readonly MemoryStream _buffer = new();
    private readonly BinaryEncoder _encoder;
    private readonly SpecificDefaultWriter _writer = new(ClassSchema);
    private long _pending;
    private bool _disposed;

    private TraceWriter(Stream stream, TraceWriterOptions options)
    {
        _stream = stream;
        _codec = options.Codec;
        _blockBytes = Math.Max(1024, options.BlockBytes);
        _encoder = new BinaryEncoder(_buffer);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ContainerFormat.SchemaKey] = TraceSchema.Text,
            [ContainerFormat.CodecKey] = TraceCodecs.Name(_codec),
            [ContainerFormat.VersionKey] = ContainerFormat.Version,
        };
        foreach (var (key, value) in options.Metadata)
        {
            if (key.StartsWith("avro.", StringComparison.Ordinal))
            {
                throw new ArgumentException($"metadata key '{key}' is reserved by Avro", nameof(options));
            }
            metadata[key] = value;
        }
        var header = ContainerFormat.Header(metadata, _sync);
        _stream.Write(header);
        _stream.Flush();
        BytesWritten = header.Length;
    }

    /// <summary>Creates (or truncates) <paramref name="path"/> and writes the header.</summary>
    public static TraceWriter Create(string path, TraceWriterOptions? options = null) =>
        new(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read), options ?? new TraceWriterOptions());

    /// <summary>Writes a trace into <paramref name="stream"/>, which the writer owns from now on.</summary>
    public static TraceWriter Create(Stream stream, TraceWriterOptions? options = null) =>
        new(stream ?? throw new ArgumentNullException(nameof(stream)), options ?? new TraceWriterOptions());

    /// <summary>Entries appended so far (written or buffered).</summary>
    public long Records { get; private set; }

    /// <summary>Bytes written to the file so far (header and complete blocks).</summary>
    public long BytesWritten { get; private set; }

    /// <summary>Appends one entry; writes a block when the buffer is full.</summary>
    public void Append(TraceEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ObjectDisposedException.ThrowIf(_disposed, this);
        _writer.Write(ClassSchema, entry.ToRecord(), _encoder);
        _pending++;
        Records++;
        if (_buffer.Length >= _blockBytes)
        {
            Flush();
        }
    }

    /// <summary>Writes the buffered entries as one block and flushes the file; nothing to do when none are buffered.</summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_pending == 0)
        {
            return;
        }
        _encoder.Flush();
        var data = TraceCodecs.Compress(_codec, _buffer.GetBuffer().AsSpan(0, (int)_buffer.Length));
        // One write per block: a reader never sees a block's header without the rest of what Flush wrote.
        using var block = new MemoryStream(data.Length + 32);
        ContainerFormat.WriteLong(block, _pending);
        ContainerFormat.WriteLong(block, data.Length);
        block.Write(data);
        block.Write(_sync);
        _stream.Write(block.GetBuffer().AsSpan(0, (int)block.Length));
        _stream.Flush();
        BytesWritten += block.Length;
        _buffer.SetLength(0);
        _pending = 0;
    }

    /// <summary>Writes what is buffered and closes the file.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        try
        {
            Flush();
        }
        finally
        {
            _disposed = true;
            _stream.Dispose();
            _buffer.Dispose();
        }
    }
}
