using System.Collections;
using System.Text;
using Avro;
using Avro.IO;
using Avro.Specific;
using SafeHaven.Schemas;

namespace SafeHaven.Traces;

/// <summary>
/// Reads a trace (docs/TRACES.md) as typed entries in file order. <see cref="Open(string)"/> checks the header (magic,
/// schema, codec); enumeration checks every block (length, sync marker, decompression, every record decoded to the last
/// byte). Anything wrong throws <see cref="TraceFormatException"/> naming the file, the byte offset and what is wrong.
/// Files of bare <c>safehaven.v1.CounterSample</c> records (another tool's export) read as sample entries. Single pass.
/// </summary>
public sealed class TraceReader : IEnumerable<TraceEntry>, IDisposable
{
    private static readonly Schema RecordClass = new TraceRecord().Schema;
    private static readonly Schema SampleClass = new CounterSample().Schema;

    private readonly ContainerSource _source;
    private readonly byte[] _sync;
    private readonly bool _bareSamples;
    // The file's schema when it is an earlier version of the contract: Avro resolves it onto today's.
    private readonly Schema _writer = RecordClass;
    private bool _enumerated;

    private TraceReader(ContainerSource source)
    {
        _source = source;
        if (!source.ReadExactly(4, "the magic").AsSpan().SequenceEqual(ContainerFormat.Magic))
        {
            throw new TraceFormatException($"{source.Name}: not an Avro object container file (no 'Obj\\x01' magic at byte 0)");
        }
        Metadata = ReadMetadata(source);
        _sync = source.ReadExactly(ContainerFormat.SyncLength, "the sync marker");
        var codecName = Metadata.GetValueOrDefault(ContainerFormat.CodecKey, "null");
        Codec = TraceCodecs.Parse(codecName)
            ?? throw new TraceFormatException($"{source.Name}: codec '{Core.Identifiers.Printable(codecName)}' is not supported (null, deflate, zstandard)");
        if (!Metadata.TryGetValue(ContainerFormat.SchemaKey, out var schemaText))
        {
            throw new TraceFormatException($"{source.Name}: the header has no avro.schema");
        }
        _bareSamples = TraceSchema.IsBareSamples(source.Name, schemaText, out var earlier);
        _writer = earlier ?? RecordClass;
    }

    /// <summary>Opens <paramref name="path"/> and checks its header.</summary>
    /// <exception cref="TraceFormatException">Not a trace: what is wrong.</exception>
    /// <exception cref="IOException">The file cannot be opened.</exception>
    public static TraceReader Open(string path) =>
        Open(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite), path);

    /// <summary>Reads a trace from <paramref name="stream"/> (owned by the reader); <paramref name="name"/> names it in errors.</summary>
    public static TraceReader Open(Stream stream, string name)
    {
        var source = new ContainerSource(stream ?? throw new ArgumentNullException(nameof(stream)), name);
        try
        {
            return new TraceReader(source);
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    /// <summary>Every entry of <paramref name="path"/>, read and checked to the end.</summary>
    public static IReadOnlyList<TraceEntry> ReadAll(string path)
    {
        using var reader = Open(path);
        return reader.ToList();
    }

    /// <summary>The header's metadata (<c>avro.schema</c>, <c>avro.codec</c>, <c>safehaven.trace</c>, and what the recorder added).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The file's block compression.</summary>
    public TraceCodec Codec { get; }

    /// <summary>Blocks read so far.</summary>
    public long Blocks { get; private set; }

    /// <inheritdoc/>
    public IEnumerator<TraceEntry> GetEnumerator()
    {
        if (_enumerated)
        {
            throw new InvalidOperationException("a TraceReader reads its file once; open it again");
        }
        _enumerated = true;
        return Read();
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private IEnumerator<TraceEntry> Read()
    {
        var reader = _bareSamples ? null : new SpecificDefaultReader(_writer, RecordClass);
        var samples = _bareSamples ? new SpecificDefaultReader(SampleClass, SampleClass) : null;
        while (!_source.AtEnd())
        {
            var at = _source.Offset;
            var count = _source.ReadLong($"the record count of block {Blocks}");
            var size = _source.ReadLong($"the size of block {Blocks}");
            if (count <= 0)
            {
                throw _source.Error($"block {Blocks} (at byte {at}) claims {count} records; the file is corrupt");
            }
            var data = _source.ReadExactly(size, $"block {Blocks} (at byte {at})");
            var sync = _source.ReadExactly(ContainerFormat.SyncLength, $"the sync marker of block {Blocks}");
            if (!sync.AsSpan().SequenceEqual(_sync))
            {
                throw _source.Error($"block {Blocks} (at byte {at}) is not followed by the file's sync marker; the file is corrupt");
            }
            byte[] plain;
            try
            {
                plain = TraceCodecs.Decompress(Codec, data);
            }
            catch (InvalidDataException e)
            {
                throw new TraceFormatException($"{_source.Name}: block {Blocks} (at byte {at}): {e.Message}; the file is corrupt", e);
            }
            using var ms = new MemoryStream(plain, writable: false);
            var decoder = new BinaryDecoder(ms);
            for (long i = 0; i < count; i++)
            {
                yield return Decode(reader, samples, decoder, ms, at, i);
            }
            if (ms.Position != ms.Length)
            {
                throw new TraceFormatException($"{_source.Name}: block {Blocks} (at byte {at}): {ms.Length - ms.Position} bytes left after its {count} records; the file is corrupt");
            }
            Blocks++;
        }
    }

    private TraceEntry Decode(SpecificDefaultReader? reader, SpecificDefaultReader? samples, BinaryDecoder decoder, MemoryStream ms, long at, long i)
    {
        string? problem;
        try
        {
            if (samples is not null)
            {
                var sample = samples.Read(new CounterSample(), decoder);
                return TraceEntry.OfSample(sample, 0);
            }
            (var entry, problem) = TraceEntry.From(reader!.Read(new TraceRecord(), decoder));
            if (entry is not null)
            {
                return entry;
            }
        }
        catch (Exception e) when (e is AvroException or EndOfStreamException or IOException or InvalidCastException or OverflowException or ArgumentException)
        {
            problem = $"does not decode ({e.Message}) at byte {ms.Position} of the block";
        }
        throw new TraceFormatException($"{_source.Name}: block {Blocks} (at byte {at}) record {i}: {problem}; the file is corrupt");
    }

    private static Dictionary<string, string> ReadMetadata(ContainerSource source)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        while (true)
        {
            var count = source.ReadLong("the header's metadata");
            if (count == 0)
            {
                return metadata;
            }
            if (count < 0)
            {
                // A negative count is followed by the block's size in bytes (Avro maps); not needed here.
                source.ReadLong("the header's metadata");
                count = -count;
            }
            if (count > 10_000)
            {
                throw source.Error($"the header claims {count} metadata entries; the file is corrupt");
            }
            for (var i = 0; i < count; i++)
            {
                var key = source.ReadString("a metadata key");
                metadata[key] = Encoding.UTF8.GetString(source.ReadExactly(source.ReadLong("a metadata value"), $"metadata {key}"));
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _source.Dispose();
}
