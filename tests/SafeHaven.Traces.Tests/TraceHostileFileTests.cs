using Avro.File;
using Avro.Generic;
using SafeHaven.Schemas;

namespace SafeHaven.Traces.Tests;

/// <summary>Truncated, corrupt and foreign files: a <see cref="TraceFormatException"/> that says what is wrong, never another exception.</summary>
public sealed class TraceHostileFileTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void Every_truncation_is_refused_except_at_a_block_boundary()
    {
        var entries = TraceSamples.Mixed(200);
        var file = TraceSamples.Write(entries, TraceCodec.Zstandard, blockBytes: 2048);
        long blocks;
        using (var full = TraceReader.Open(new MemoryStream(file), "t"))
        {
            _ = full.ToList();
            blocks = full.Blocks;
        }

        var valid = 0;
        for (var cut = 0; cut < file.Length; cut++)
        {
            try
            {
                var read = TraceSamples.Read(file[..cut]);
                Assert.True(read.Count < entries.Count);
                Assert.Equal(TraceFormatTests.Bytes(entries[read.Count == 0 ? 0 : read.Count - 1]), TraceFormatTests.Bytes(read.Count == 0 ? entries[0] : read[^1]));
                valid++;
            }
            catch (TraceFormatException e)
            {
                Assert.StartsWith("test.trace: ", e.Message, StringComparison.Ordinal);
                Assert.True(e.Message.Contains("truncated", StringComparison.Ordinal) || e.Message.Contains("magic", StringComparison.Ordinal), e.Message);
            }
        }
        // The header alone, then each complete block but the last: a shorter but valid trace.
        Assert.Equal(blocks, valid);
        output.WriteLine($"{file.Length} cuts of a {file.Length}-byte, {blocks}-block trace: {file.Length - valid} refused, {valid} valid prefixes at block boundaries");
    }

    [Theory]
    [InlineData(TraceCodec.Deflate, 0)]
    [InlineData(TraceCodec.Zstandard, 1990)]
    public void Flipped_bits_in_blocks_give_a_trace_error_or_records_never_another_exception(TraceCodec codec, int minRefused)
    {
        var entries = TraceSamples.Mixed(300);
        var file = TraceSamples.Write(entries, codec, blockBytes: 4096);
        var expected = entries.Select(TraceFormatTests.Bytes).ToList();
        // The header ends with the sync marker that also ends the file; flips there are the header tests' business.
        var blocksStart = file.AsSpan().IndexOf(file.AsSpan(file.Length - 16)) + 16;
        var random = new Random(12);
        int refused = 0, same = 0;
        for (var i = 0; i < 2000; i++)
        {
            var copy = (byte[])file.Clone();
            copy[random.Next(blocksStart, copy.Length)] ^= (byte)(1 << random.Next(8));
            try
            {
                same += TraceSamples.Read(copy).Select(TraceFormatTests.Bytes).SequenceEqual(expected, new BytesEqual()) ? 1 : 0;
            }
            catch (TraceFormatException e)
            {
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
                refused++;
            }
        }
        Assert.True(refused >= minRefused, $"only {refused} of 2000 flips refused");
        output.WriteLine($"2000 single-bit flips in the blocks of a {file.Length}-byte {codec} trace: {refused} refused with a TraceFormatException, " +
            $"{same} read the same records, {2000 - refused - same} read altered records, 0 other exceptions");
    }

    private sealed class BytesEqual : IEqualityComparer<byte[]>
    {
        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => obj.Length;
    }

    [Fact]
    public void Flipped_bits_in_the_header_give_a_trace_error_or_the_same_records()
    {
        var entries = TraceSamples.Mixed(50);
        var file = TraceSamples.Write(entries, TraceCodec.Zstandard);
        var headerEnd = file.AsSpan().IndexOf(file.AsSpan(file.Length - 16)) + 16;
        var expected = entries.Select(TraceFormatTests.Bytes).ToList();
        var refused = 0;
        for (var at = 0; at < headerEnd; at += 3)
        {
            var copy = (byte[])file.Clone();
            copy[at] ^= 0x04;
            try
            {
                // A flip inside a doc string changes no parsing canonical form: the schema is still the contract.
                Assert.Equal(expected, TraceSamples.Read(copy).Select(TraceFormatTests.Bytes));
            }
            catch (TraceFormatException)
            {
                refused++;
            }
        }
        output.WriteLine($"{(headerEnd + 2) / 3} flips in a {headerEnd}-byte header: {refused} refused, {(headerEnd + 2) / 3 - refused} read the same records (a doc string changed)");
    }

    [Fact]
    public void A_broken_sync_marker_says_the_file_is_corrupt()
    {
        var file = TraceSamples.Write(TraceSamples.Mixed(20), TraceCodec.Null);
        file[^1] ^= 0xFF;
        var e = Assert.Throws<TraceFormatException>(() => TraceSamples.Read(file));
        Assert.Contains("sync marker", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[0], "truncated")]
    [InlineData(new byte[] { (byte)'{', (byte)'}', 0, 0, 0 }, "not an Avro object container file")]
    public void Not_a_trace_says_so(byte[] file, string expected)
    {
        var e = Assert.Throws<TraceFormatException>(() => TraceSamples.Read(file));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_container_of_another_record_is_a_schema_mismatch()
    {
        var schema = (Avro.RecordSchema)ContractSchemas.Get("Detection");
        var e = Assert.Throws<TraceFormatException>(() => TraceSamples.Read(Foreign(schema, Codec.CreateCodec(Codec.Type.Null), [])));
        Assert.Contains("schema mismatch", e.Message, StringComparison.Ordinal);
        Assert.Contains("safehaven.v1.Detection", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_of_bare_samples_from_another_writer_reads_as_sample_entries()
    {
        var schema = (Avro.RecordSchema)ContractSchemas.Get("CounterSample");
        var entity = new GenericRecord((Avro.RecordSchema)ContractSchemas.Get("EntityRef"));
        foreach (var (k, v) in new (string, object?)[] { ("datacenter", "dc1"), ("host", "h9"), ("vm", null), ("container", null), ("pid", 42), ("comm", "x"), ("startTime", null) })
        {
            entity.Add(k, v);
        }
        var sample = new GenericRecord(schema);
        foreach (var (k, v) in new (string, object)[] { ("host", "h9"), ("entity", entity), ("values", new Dictionary<string, object> { ["context-switches"] = 7L }), ("intervalNs", 5L), ("timestampNs", 99L), ("seq", 3L), ("droppedSamples", 0L) })
        {
            sample.Add(k, v);
        }

        var read = TraceSamples.Read(Foreign(schema, Codec.CreateCodec(Codec.Type.Deflate), [sample, sample]));

        Assert.Equal(2, read.Count);
        Assert.All(read, e => Assert.Equal(TraceKind.Samples, e.Kind));
        Assert.Equal(7L, read[0].Sample!.values["context-switches"]);
        Assert.Equal(99L, read[0].PaceNs);
    }

    [Fact]
    public void An_unsupported_codec_is_named()
    {
        var file = TraceSamples.Write(TraceSamples.Mixed(3), TraceCodec.Null);
        var text = System.Text.Encoding.ASCII.GetString(file);
        var at = text.IndexOf("\u0008null", StringComparison.Ordinal);
        Assert.True(at > 0);
        file[at + 1] = (byte)'n';
        file[at + 2] = (byte)'o';
        file[at + 3] = (byte)'p';
        file[at + 4] = (byte)'e';
        var e = Assert.Throws<TraceFormatException>(() => TraceSamples.Read(file));
        Assert.Contains("codec 'nope' is not supported", e.Message, StringComparison.Ordinal);
    }

    private static byte[] Foreign(Avro.RecordSchema schema, Codec codec, GenericRecord[] records)
    {
        var ms = new MemoryStream();
        using (var writer = DataFileWriter<GenericRecord>.OpenWriter(new GenericDatumWriter<GenericRecord>(schema), ms, codec))
        {
            foreach (var r in records)
            {
                writer.Append(r);
            }
        }
        return ms.ToArray();
    }
}
