using System.Text.Json;

namespace SafeHaven.Traces.Tests;

/// <summary>Debian's python3-avro reads trace files with the .avsc files of schemas/ alone (CI installs python3-avro and python3-zstandard).</summary>
public sealed class PythonAvroTests
{
    [SkippableTheory]
    [InlineData(TraceCodec.Null)]
    [InlineData(TraceCodec.Deflate)]
    [InlineData(TraceCodec.Zstandard)]
    public void Python3_avro_reads_every_record(TraceCodec codec)
    {
        var missing = PythonAvro.Missing("avro", "python3-avro") ?? (codec == TraceCodec.Zstandard ? PythonAvro.Missing("zstandard", "python3-zstandard") : null);
        Skip.If(missing is not null, missing);
        var entries = TraceSamples.Mixed(300);
        var path = Path.Combine(Path.GetTempPath(), $"trace-{Guid.NewGuid():N}.avro");
        try
        {
            File.WriteAllBytes(path, TraceSamples.Write(entries, codec));

            var (exit, stdout, stderr) = PythonAvro.ReadTrace(path);

            Assert.True(exit == 0, $"read_trace.py exit {exit}: {stderr}");
            using var doc = JsonDocument.Parse(stdout);
            Assert.Equal(TraceCodecs.Name(codec), doc.RootElement.GetProperty("codec").GetString());
            var kinds = doc.RootElement.GetProperty("kinds");
            Assert.Equal(300, kinds.GetProperty("samples").GetInt32());
            Assert.Equal(2, kinds.GetProperty("inventory").GetInt32());
            Assert.Equal(1, kinds.GetProperty("detections").GetInt32());
            Assert.Equal(1, kinds.GetProperty("results").GetInt32());
            var samples = doc.RootElement.GetProperty("samples").EnumerateArray().ToList();
            var expected = entries.Where(e => e.Sample is not null).Select(e => e.Sample!).ToList();
            for (var i = 0; i < expected.Count; i++)
            {
                Assert.Equal(expected[i].host, samples[i][0].GetString());
                Assert.Equal(expected[i].seq, samples[i][1].GetInt64());
                Assert.Equal(expected[i].entity.pid, samples[i][2].GetInt32());
                Assert.Equal(expected[i].timestampNs, samples[i][3].GetInt64());
                Assert.Equal(expected[i].values["context-switches"], samples[i][4].GetProperty("context-switches").GetInt64());
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [SkippableFact]
    public void Python3_avro_refuses_a_truncated_trace()
    {
        var missing = PythonAvro.Missing("avro", "python3-avro");
        Skip.If(missing is not null, missing);
        var path = Path.Combine(Path.GetTempPath(), $"trace-{Guid.NewGuid():N}.avro");
        try
        {
            var file = TraceSamples.Write(TraceSamples.Mixed(300), TraceCodec.Deflate);
            File.WriteAllBytes(path, file[..(file.Length - 100)]);
            Assert.Equal(2, PythonAvro.ReadTrace(path).Exit);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
