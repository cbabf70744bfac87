using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Avro;
using SafeHaven.Core.Detector;
using SafeHaven.Schemas;

namespace SafeHaven.Kafka.Serialization;

/// <summary>
/// Decodes a single-object encoded <see cref="SampleBatch"/> straight from its bytes into reusable
/// <see cref="SampleView"/>s, field by field in the order of <c>schemas/SampleBatch.avsc</c> and
/// <c>SampleEntry.avsc</c>: no stream, no reflection, no generated record, no counter map per sample.
/// Strings are compared as UTF-8 against what the same host and process sent before (host, counter names,
/// <c>comm</c>, container, VM), so a known process's sample allocates nothing. A malformed body fails the
/// whole batch (Avro cannot resynchronise inside a record); an entry that decodes but does not make sense
/// (values not aligned with the counters) is marked in <see cref="SampleView.DecodeProblem"/> so that only
/// it is dead-lettered.
/// </summary>
/// <remarks>
/// Not thread-safe: one decoder per stream task; the views are overwritten by the next <see cref="Decode(ReadOnlySpan{byte})"/>.
/// The per-sample methods here and in the engine are compiled fully optimised at once (AggressiveOptimization):
/// a detector that starts into a backlog would otherwise decode it with unoptimised code until tiering catches up,
/// which on a busy machine took longer than a million samples (PERFORMANCE.md).
/// </remarks>
public sealed partial class SampleBatchDecoder
{
    private static readonly long ContractFingerprint = SchemaNormalization.ParsingFingerprint64(ContractSchemas.Get(nameof(SampleBatch)));

    // The smallest SampleEntry: five null branches, two one-byte longs and an empty values array.
    private const int MinEntryBytes = 8;

    private readonly List<SampleView> _views = [];
    private DecodedHost _host = DecodedHost.None;

    /// <summary>CRC-64-AVRO fingerprint of the <c>SampleBatch</c> contract.</summary>
    public static long Fingerprint => ContractFingerprint;

    /// <summary>True when <paramref name="data"/> starts with the single-object header of a <c>SampleBatch</c>.</summary>
    public static bool IsSampleBatch(ReadOnlySpan<byte> data) =>
        data.Length >= SingleObjectCodec<SampleBatch>.HeaderLength && data[0] == 0xC3 && data[1] == 0x01
        && BinaryPrimitives.ReadInt64LittleEndian(data[2..]) == ContractFingerprint;

    /// <summary>Host id of the last decoded batch.</summary>
    public string Host => _host.Host;

    /// <summary>Samples the probe dropped before the last decoded batch.</summary>
    public long DroppedSamples { get; private set; }

    /// <summary>Why the last batch's host or datacenter is unusable (the whole batch is then rejected); null when valid.</summary>
    public string? HostProblem => _host.Problem;

    /// <summary>Number of entries of the last decoded batch.</summary>
    public int Count { get; private set; }

    /// <summary>Entry <paramref name="i"/> of the last decoded batch.</summary>
    public SampleView this[int i]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (uint)i < (uint)Count ? _views[i] : throw new ArgumentOutOfRangeException(nameof(i));
    }

    /// <summary>Decodes <paramref name="data"/>; returns the number of entries.</summary>
    /// <exception cref="AvroDecodeException">Not a <c>SampleBatch</c>, or its body does not decode.</exception>
    public int Decode(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Decode(data.AsSpan());
    }

    /// <summary>Decodes <paramref name="data"/>; returns the number of entries.</summary>
    /// <exception cref="AvroDecodeException">Not a <c>SampleBatch</c>, or its body does not decode.</exception>
    public int Decode(ReadOnlySpan<byte> data)
    {
        if (!IsSampleBatch(data))
        {
            throw new AvroDecodeException($"{nameof(SampleBatch)}: not a single-object encoded {nameof(SampleBatch)}");
        }
        Count = 0;
        int left;
        try
        {
            left = DecodeBody(data[SingleObjectCodec<SampleBatch>.HeaderLength..]);
        }
        catch (AvroDecodeException e)
        {
            Count = 0;
            throw new AvroDecodeException($"{nameof(SampleBatch)}: body does not decode: {e.Message}", e);
        }
        if (left != 0)
        {
            Count = 0;
            throw new AvroDecodeException($"{nameof(SampleBatch)}: {left} bytes left after the record");
        }
        return Count;
    }

    // Returns the bytes left after the record.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int DecodeBody(ReadOnlySpan<byte> body)
    {
        var r = new AvroSpanReader(body);
        r.ReadUtf8();
        r.ReadUtf8();
        var host = _host = Hosts(r.Since(0));
        var timestampNs = r.ReadLong();
        var firstSeq = r.ReadLong();
        DroppedSamples = r.ReadLong();
        var countersStart = r.Position;
        for (var n = r.ReadBlockCount(1); n != 0; n = r.ReadBlockCount(1))
        {
            for (var i = 0; i < n; i++)
            {
                r.ReadUtf8();
            }
        }
        var counters = host.Counters(r.Since(countersStart));
        for (var n = r.ReadBlockCount(MinEntryBytes); n != 0; n = r.ReadBlockCount(MinEntryBytes))
        {
            for (var i = 0; i < n; i++)
            {
                var view = Next(host, counters);
                view.Seq = firstSeq + Count - 1;
                ReadEntry(ref r, view, host, timestampNs);
            }
        }
        return r.Remaining;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private SampleView Next(DecodedHost host, CounterSet counters)
    {
        if (Count == _views.Count)
        {
            _views.Add(new SampleView());
        }
        var view = _views[Count++];
        // ReadEntry sets every entity field and the ids next.
        view.Refill(host.Datacenter, host.Host, host.HostId, counters);
        return view;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ReadEntry(ref AvroSpanReader r, SampleView view, DecodedHost host, long timestampNs)
    {
        int? pid = r.ReadOptional() ? r.ReadInt() : null;
        view.Pid = pid;
        view.StartTime = r.ReadOptional() ? r.ReadLong() : null;
        // A process is identified by its pid alone (EntityIds: the most specific part wins).
        var known = pid is { } p && host.Problem is null ? Known(host, p, Count - 1) : null;
        if (known is null)
        {
            view.Comm = r.ReadOptional() ? r.ReadString() : null;
            view.Container = r.ReadOptional() ? r.ReadString() : null;
            view.Vm = r.ReadOptional() ? r.ReadString() : null;
            view.ForgetKeys();
        }
        else
        {
            view.Comm = r.ReadOptional() ? known.Comm.Get(r.ReadUtf8()) : null;
            view.Container = r.ReadOptional() ? known.Container.Get(r.ReadUtf8()) : null;
            view.Vm = r.ReadOptional() ? known.Vm.Get(r.ReadUtf8()) : null;
            view.UseKeys(known.Keys);
        }
        view.TimestampNs = timestampNs + r.ReadLong();
        view.IntervalNs = r.ReadLong();
        var expected = view.CounterSet.Count;
        var index = 0;
        for (var n = r.ReadBlockCount(1); n != 0; n = r.ReadBlockCount(1))
        {
            for (var i = 0; i < n; i++, index++)
            {
                if (r.ReadOptional())
                {
                    var value = r.ReadLong();
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
}
