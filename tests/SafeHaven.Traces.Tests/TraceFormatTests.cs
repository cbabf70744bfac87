using Avro.IO;
using Avro.Specific;
using SafeHaven.Schemas;

namespace SafeHaven.Traces.Tests;

/// <summary>The trace file round-trips every record kind with every codec, block by block.</summary>
public sealed class TraceFormatTests
{
    internal static byte[] Bytes(TraceEntry e)
    {
        var schema = new TraceRecord().Schema;
        using var ms = new MemoryStream();
        var encoder = new BinaryEncoder(ms);
        new SpecificDefaultWriter(schema).Write(schema, e.ToRecord(), encoder);
        encoder.Flush();
        return ms.ToArray();
    }

    [Theory]
    [InlineData(TraceCodec.Null)]
    [InlineData(TraceCodec.Deflate)]
    [InlineData(TraceCodec.Zstandard)]
    public void Every_kind_round_trips_in_order(TraceCodec codec)
    {
        var entries = TraceSamples.Mixed(500);
        var file = TraceSamples.Write(entries, codec);

        using var reader = TraceReader.Open(new MemoryStream(file), "t");
        var read = reader.ToList();

        Assert.Equal(codec, reader.Codec);
        Assert.True(reader.Blocks > 3, $"{reader.Blocks} blocks: the test wants several");
        Assert.Equal(entries.Count, read.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            Assert.Equal(entries[i].Kind, read[i].Kind);
            Assert.Equal(Bytes(entries[i]), Bytes(read[i]));
        }
        Assert.Null(read.Single(e => e.Kind == TraceKind.Inventory && e.Key == "dc1/h1/pid/101").Inventory);
        Assert.Equal("1", reader.Metadata["safehaven.trace"]);
    }

    [Fact]
    public void The_cluster_an_entry_was_read_from_round_trips_and_an_old_entry_has_none()
    {
        var entries = TraceSamples.Mixed(3);
        List<TraceEntry> named = [.. entries.Select((e, i) => i % 2 == 0 ? e with { Cluster = "dc1-kafka" } : e)];
        var read = TraceSamples.Read(TraceSamples.Write(named, TraceCodec.Null));
        Assert.Equal(named.Select(e => e.Cluster), read.Select(e => e.Cluster));
        Assert.Contains(read, e => e.Cluster is null);
    }

    [Fact]
    public void Compression_shrinks_a_trace()
    {
        var entries = TraceSamples.Mixed(2000);
        var plain = TraceSamples.Write(entries, TraceCodec.Null).Length;
        Assert.True(TraceSamples.Write(entries, TraceCodec.Deflate).Length < plain / 2);
        Assert.True(TraceSamples.Write(entries, TraceCodec.Zstandard).Length < plain / 2);
    }

    [Fact]
    public void Flushed_blocks_are_readable_while_the_writer_is_still_open()
    {
        var path = Path.Combine(Path.GetTempPath(), $"trace-{Guid.NewGuid():N}.avro");
        try
        {
            using var writer = TraceWriter.Create(path, new TraceWriterOptions { Codec = TraceCodec.Zstandard });
            foreach (var e in TraceSamples.Mixed(10))
            {
                writer.Append(e);
            }
            writer.Flush();
            writer.Append(TraceSamples.Mixed(1)[0]);

            // What a Ctrl-C or a kill right now would leave: the flushed block, not the buffered entry.
            Assert.Equal(14, TraceReader.ReadAll(path).Count);
            Assert.Equal(writer.BytesWritten, new FileInfo(path).Length);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Avro_s_own_reader_reads_the_file()
    {
        var entries = TraceSamples.Mixed(50);
        var file = TraceSamples.Write(entries, TraceCodec.Deflate);

        using var reader = Avro.File.DataFileReader<Avro.Generic.GenericRecord>.OpenReader(new MemoryStream(file));
        var records = new List<Avro.Generic.GenericRecord>();
        while (reader.HasNext())
        {
            records.Add(reader.Next());
        }

        Assert.Equal("safehaven.v1.TraceRecord", reader.GetSchema().Fullname);
        Assert.Equal(entries.Count, records.Count);
        var sample = (Avro.Generic.GenericRecord)records[0]["sample"];
        Assert.Equal(entries[0].Sample!.seq, (long)sample["seq"]);
        Assert.Equal("safehaven.v1.CounterSample", sample.Schema.Fullname);
    }
}
