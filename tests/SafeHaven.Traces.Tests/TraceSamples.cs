using SafeHaven.Schemas;

namespace SafeHaven.Traces.Tests;

/// <summary>Records for the tests: varied enough that every field and union branch is written.</summary>
internal static class TraceSamples
{
    public static CounterSample Sample(string host, int pid, long seq, long endNs, long count) => new()
    {
        host = host,
        entity = new EntityRef { datacenter = "dc1", host = host, pid = pid, comm = $"w{pid}", startTime = 1000 + pid },
        values = new Dictionary<string, long> { ["context-switches"] = count, ["page-faults"] = seq },
        intervalNs = 1_000_000_000,
        timestampNs = endNs,
        seq = seq,
    };

    public static List<TraceEntry> Mixed(int samples)
    {
        var t0 = 1_764_800_000_000_000_000L;
        var entries = new List<TraceEntry>();
        for (var i = 0; i < samples; i++)
        {
            var end = t0 + (i / 2 * 1_000_000_000L);
            entries.Add(TraceEntry.OfSample(Sample(i % 3 == 0 ? "h2" : "h1", 100 + (i % 2), i, end, i * 37L), end / 1_000_000 * 1_000_000));
        }
        entries.Insert(1, TraceEntry.OfInventory("dc1/h1/pid/100", new EntityState
        {
            entityId = "dc1/h1/pid/100", kind = "process", entity = Sample("h1", 100, 0, t0, 0).entity, tenant = "t1",
            levels = ["core"], counterStatus = new Dictionary<string, string> { ["cycles"] = "not supported" },
            attributes = new Dictionary<string, string>(), updatedAtNs = t0,
        }, t0));
        entries.Add(TraceEntry.OfInventory("dc1/h1/pid/101", null, t0 + 5));
        entries.Add(TraceEntry.OfDetection("dc1/h1/pid/100", new Detection
        {
            detectionId = "h1:1:2:r", entity = Sample("h1", 100, 0, t0, 0).entity, rule = "r", counter = "context-switches",
            rate = 5000.5, threshold = 2000, scope = "core", detectedAtNs = t0 + 9, firstSampleAtNs = t0, sampleSeq = 2,
        }, t0 + 10));
        entries.Add(TraceEntry.OfResult(new IsolationResult
        {
            commandId = "c-1", entity = Sample("h1", 100, 0, t0, 0).entity, level = "core", status = "succeeded",
            startedAtNs = t0 + 11, finishedAtNs = t0 + 12, phases = new Dictionary<string, long> { ["cpuset"] = 1_000_000 },
            actuator = "h1", cpus = "1",
        }, t0 + 13));
        return entries;
    }

    public static byte[] Write(IEnumerable<TraceEntry> entries, TraceCodec codec, int blockBytes = 4096)
    {
        var ms = new MemoryStream();
        using (var writer = TraceWriter.Create(new NonClosing(ms), new TraceWriterOptions { Codec = codec, BlockBytes = blockBytes }))
        {
            foreach (var e in entries)
            {
                writer.Append(e);
            }
        }
        return ms.ToArray();
    }

    public static List<TraceEntry> Read(byte[] file)
    {
        using var reader = TraceReader.Open(new MemoryStream(file), "test.trace");
        return reader.ToList();
    }

    /// <summary>Keeps the bytes readable after the writer disposes its stream.</summary>
    private sealed class NonClosing(Stream inner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    }
}
