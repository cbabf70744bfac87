using System.Buffers.Binary;
using Avro.IO;
using CsCheck;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;

namespace SafeHaven.Kafka.Tests.Serialization;

/// <summary>
/// Random valid <see cref="SampleBatch"/>es for the decoder's property tests: hosts and pids from small pools
/// (so a sequence of batches revisits processes, with changing names), non-ASCII and empty strings, longs over
/// their whole range, nullable fields either way, values sometimes not aligned with the counters. And an Avro
/// writer that splits every array into several blocks, some with negative counts and byte sizes, as the
/// specification allows and Apache.Avro's own writer never does.
/// </summary>
internal static class SampleBatchGen
{
    private static readonly string[] Names = ["", "w", "worker", "spy-\u00e9\u4e2d", "h1", "dc1", "a b", "x/y", "\ud83d\ude00"];
    private static readonly string[] Counters = ["context-switches", "page-faults", "bus-lock", "raw:0x01a2", "tp:sched:sched_switch", "cs"];

    private static readonly Gen<string> Name = Gen.Frequency((4, Gen.OneOf(Names)), (1, Gen.String[Gen.Char, 0, 12]));
    private static readonly Gen<long> AnyLong = Gen.Frequency((3, Gen.Long[-300, 300]), (2, Gen.Long), (1, Gen.OneOf(long.MinValue, long.MaxValue, 0L)));
    private static readonly Gen<int?> Pid = Gen.Frequency(
        (6, Gen.Int[1, 12].Select(p => (int?)p)), (1, Gen.OneOf<int?>(null, 0, -1, int.MaxValue, int.MinValue, 4_194_305)));

    private static Gen<T?> Maybe<T>(Gen<T> gen) where T : class => Gen.Frequency((1, Gen.Const((T?)null)), (2, gen.Select(v => (T?)v)));

    private static Gen<SampleEntry> Entry(int counters) => Gen.Select(
        Pid, Gen.Frequency((1, Gen.Const((long?)null)), (2, AnyLong.Select(v => (long?)v))),
        Maybe(Name), Maybe(Name), Maybe(Name), Gen.Select(AnyLong, AnyLong),
        // Aligned most of the time; otherwise one value too many or too few.
        Gen.Frequency((8, Gen.Const(counters)), (1, Gen.Int[0, counters + 2])).SelectMany(n => Gen.Frequency(
            (1, Gen.Const((long?)null)), (4, AnyLong.Select(v => (long?)v))).List[n, n]),
        (pid, start, comm, container, vm, window, values) => new SampleEntry
        {
            pid = pid, startTime = start, comm = comm, container = container, vm = vm,
            endOffsetNs = window.Item1, intervalNs = window.Item2, values = values,
        });

    /// <summary>One batch: a valid host most of the time, 0–6 counters (repeats allowed), 0–12 entries.</summary>
    public static readonly Gen<SampleBatch> Batch =
        Gen.Select(
                Gen.Frequency((8, Gen.OneOf("h1", "h2", "host-7")), (1, Name)), Gen.Frequency((8, Gen.Const("dc1")), (1, Name)),
                AnyLong, AnyLong, Gen.Long[0, 5], Gen.OneOf(Counters).List[0, 6])
            .SelectMany(b => Entry(b.Item6.Count).List[0, 12].Select(entries => new SampleBatch
            {
                host = b.Item1, datacenter = b.Item2, timestampNs = b.Item3, firstSeq = b.Item4, droppedSamples = b.Item5,
                counters = b.Item6, samples = entries,
            }));

    /// <summary>The single-object encoding of <paramref name="batch"/>, each array cut into blocks as <paramref name="cuts"/> says.</summary>
    public static byte[] EncodeInBlocks(SampleBatch batch, Random cuts)
    {
        var body = new MemoryStream();
        var e = new BinaryEncoder(body);
        e.WriteString(batch.host);
        e.WriteString(batch.datacenter);
        e.WriteLong(batch.timestampNs);
        e.WriteLong(batch.firstSeq);
        e.WriteLong(batch.droppedSamples);
        Blocks(e, batch.counters, cuts, (w, c) => w.WriteString(c));
        Blocks(e, batch.samples, cuts, (w, s) =>
        {
            OptionalValue(w, s.pid, w.WriteInt);
            OptionalValue(w, s.startTime, w.WriteLong);
            OptionalText(w, s.comm);
            OptionalText(w, s.container);
            OptionalText(w, s.vm);
            w.WriteLong(s.endOffsetNs);
            w.WriteLong(s.intervalNs);
            Blocks(w, s.values, cuts, (vw, v) => OptionalValue(vw, v, vw.WriteLong));
        });
        e.Flush();
        var header = new byte[10];
        (header[0], header[1]) = (0xC3, 0x01);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(2), SampleBatchDecoder.Fingerprint);
        return [.. header, .. body.ToArray()];
    }

    private static void OptionalText(BinaryEncoder w, string? value)
    {
        w.WriteUnionIndex(value is null ? 0 : 1);
        if (value is not null)
        {
            w.WriteString(value);
        }
    }

    private static void OptionalValue<T>(BinaryEncoder w, T? value, Action<T> write) where T : struct
    {
        w.WriteUnionIndex(value is null ? 0 : 1);
        if (value is { } v)
        {
            write(v);
        }
    }

    private static void Blocks<T>(BinaryEncoder e, IList<T> items, Random cuts, Action<BinaryEncoder, T> write)
    {
        var i = 0;
        while (i < items.Count)
        {
            var n = cuts.Next(1, items.Count - i + 1);
            var block = new MemoryStream();
            var w = new BinaryEncoder(block);
            for (var k = i; k < i + n; k++)
            {
                write(w, items[k]);
            }
            w.Flush();
            if (cuts.Next(2) == 0)
            {
                e.WriteLong(n);
            }
            else
            {
                e.WriteLong(-n);
                e.WriteLong(block.Length);
            }
            e.WriteFixed(block.ToArray());
            i += n;
        }
        e.WriteLong(0);
    }
}
