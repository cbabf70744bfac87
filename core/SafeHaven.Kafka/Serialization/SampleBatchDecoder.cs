using System.Buffers.Binary;
using Avro;
using Avro.IO;
using SafeHaven.Core;
using SafeHaven.Core.Detector;
using SafeHaven.Schemas;

namespace SafeHaven.Kafka.Serialization;

/// <summary>
/// Decodes a single-object encoded <see cref="SampleBatch"/> straight into reusable
/// <see cref="SampleView"/>s with Apache.Avro's <see cref="BinaryDecoder"/>, field by field in the
/// order of <c>schemas/SampleBatch.avsc</c>: no reflection, no generated record, no counter map
/// per sample. A malformed body fails the whole batch (Avro cannot resynchronise inside a record);
/// an entry that decodes but does not make sense (values not aligned with the counters) is marked
/// in <see cref="SampleView.DecodeProblem"/> so that only it is dead-lettered.
/// </summary>
/// <remarks>Not thread-safe: one decoder per stream task; the views are overwritten by the next <see cref="Decode"/>.</remarks>
public sealed class SampleBatchDecoder
{
    private static readonly long ContractFingerprint = SchemaNormalization.ParsingFingerprint64(ContractSchemas.Get(nameof(SampleBatch)));

    // Entities seen before (host id, pid) → their ids and state keys: most samples are of known processes.
    private const int MaxKnownEntities = 500_000;
    private readonly Dictionary<(string HostId, int Pid), EntityKeys> _known = [];
    private readonly List<SampleView> _views = [];
    private string[] _counters = [];
    private string _host = "";
    private string _datacenter = "";
    private string? _hostId;

    /// <summary>CRC-64-AVRO fingerprint of the <c>SampleBatch</c> contract.</summary>
    public static long Fingerprint => ContractFingerprint;

    /// <summary>True when <paramref name="data"/> starts with the single-object header of a <c>SampleBatch</c>.</summary>
    public static bool IsSampleBatch(ReadOnlySpan<byte> data) =>
        data.Length >= SingleObjectCodec<SampleBatch>.HeaderLength && data[0] == 0xC3 && data[1] == 0x01
        && BinaryPrimitives.ReadInt64LittleEndian(data[2..]) == ContractFingerprint;

    /// <summary>Host id of the last decoded batch.</summary>
    public string Host => _host;

    /// <summary>Samples the probe dropped before the last decoded batch.</summary>
    public long DroppedSamples { get; private set; }

    /// <summary>Why the last batch's host or datacenter is unusable (the whole batch is then rejected); null when valid.</summary>
    public string? HostProblem { get; private set; }

    /// <summary>Number of entries of the last decoded batch.</summary>
    public int Count { get; private set; }

    /// <summary>Entry <paramref name="i"/> of the last decoded batch.</summary>
    public SampleView this[int i] => (uint)i < (uint)Count ? _views[i] : throw new ArgumentOutOfRangeException(nameof(i));

    /// <summary>Decodes <paramref name="data"/>; returns the number of entries.</summary>
    /// <exception cref="AvroDecodeException">Not a <c>SampleBatch</c>, or its body does not decode.</exception>
    public int Decode(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!IsSampleBatch(data))
        {
            throw new AvroDecodeException($"{nameof(SampleBatch)}: not a single-object encoded {nameof(SampleBatch)}");
        }
        Count = 0;
        var header = SingleObjectCodec<SampleBatch>.HeaderLength;
        var stream = new MemoryStream(data, header, data.Length - header, writable: false);
        try
        {
            var d = new BinaryDecoder(stream);
            var host = d.ReadString();
            ReadHost(datacenter: d.ReadString(), host);
            var timestampNs = d.ReadLong();
            var firstSeq = d.ReadLong();
            DroppedSamples = d.ReadLong();
            var counters = ReadCounters(d);
            for (var n = d.ReadArrayStart(); n != 0; n = d.ReadArrayNext())
            {
                for (var i = 0L; i < n; i++)
                {
                    var view = Next(counters);
                    view.Seq = firstSeq + Count - 1;
                    ReadEntry(d, view, timestampNs);
                    Identify(view);
                }
            }
            if (stream.Position != stream.Length)
            {
                throw new AvroDecodeException($"{nameof(SampleBatch)}: {stream.Length - stream.Position} bytes left after the record");
            }
            return Count;
        }
        catch (Exception e) when (e is AvroException or EndOfStreamException or IOException or InvalidCastException or OverflowException or ArgumentException)
        {
            Count = 0;
            throw new AvroDecodeException($"{nameof(SampleBatch)}: body does not decode: {e.Message}", e);
        }
    }

    private void ReadHost(string datacenter, string host)
    {
        // Consecutive batches of a partition mostly come from the same few hosts: validate each once.
        if (_hostId is not null && host == _host && datacenter == _datacenter)
        {
            return;
        }
        (_host, _datacenter, _hostId, HostProblem) = (host, datacenter, null, null);
        try
        {
            _hostId = EntityIds.OfHost(datacenter, host);
        }
        catch (ArgumentException e)
        {
            HostProblem = $"unknown host: {e.Message}";
            _hostId = "";
        }
    }

    private string[] ReadCounters(BinaryDecoder d)
    {
        var names = new List<string>(_counters.Length);
        for (var n = d.ReadArrayStart(); n != 0; n = d.ReadArrayNext())
        {
            for (var i = 0L; i < n; i++)
            {
                names.Add(d.ReadString());
            }
        }
        // The same counters batch after batch: keep the old array, so views and rules see the same strings.
        if (!names.SequenceEqual(_counters, StringComparer.Ordinal))
        {
            _counters = [.. names];
        }
        return _counters;
    }

    private SampleView Next(string[] counters)
    {
        if (Count == _views.Count)
        {
            _views.Add(new SampleView());
        }
        var view = _views[Count++];
        view.SetHost(_datacenter, _host, _hostId!);
        view.Reset(counters);
        return view;
    }

    private static void ReadEntry(BinaryDecoder d, SampleView view, long timestampNs)
    {
        view.Pid = Union(d) ? d.ReadInt() : null;
        view.StartTime = Union(d) ? d.ReadLong() : null;
        view.Comm = Union(d) ? d.ReadString() : null;
        view.Container = Union(d) ? d.ReadString() : null;
        view.Vm = Union(d) ? d.ReadString() : null;
        view.TimestampNs = timestampNs + d.ReadLong();
        view.IntervalNs = d.ReadLong();
        var expected = view.Counters.Count;
        var index = 0;
        for (var n = d.ReadArrayStart(); n != 0; n = d.ReadArrayNext())
        {
            for (var i = 0L; i < n; i++, index++)
            {
                if (Union(d))
                {
                    var value = d.ReadLong();
                    if (index < expected)
                    {
                        view.SetCount(index, value);
                    }
                }
            }
        }
        if (index != expected)
        {
            view.DecodeProblem = $"{index} values for {expected} counters";
        }
    }

    // A process is identified by its pid alone (EntityIds: the most specific part wins).
    private void Identify(SampleView view)
    {
        if (view.Pid is not { } pid || HostProblem is not null)
        {
            return;
        }
        if (!_known.TryGetValue((_hostId!, pid), out var keys))
        {
            string id;
            try
            {
                id = view.EntityId;
            }
            catch (ArgumentException)
            {
                return; // invalid pid: the validator names it
            }
            if (_known.Count >= MaxKnownEntities)
            {
                _known.Clear();
            }
            _known[(_hostId!, pid)] = keys = new EntityKeys(id);
        }
        view.UseKeys(keys);
    }

    // ["null", T]: branch 0 is null, 1 the value; anything else cannot be this schema.
    private static bool Union(BinaryDecoder d) => d.ReadUnionIndex() switch
    {
        0 => false,
        1 => true,
        var other => throw new AvroException($"union branch {other} out of range"),
    };
}
