using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Avro.Specific;
using Confluent.Kafka;
using SafeHaven.Kafka.Embedded;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Tests.Embedded;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;

namespace SafeHaven.Kafka.Tests.Serialization;

/// <summary>
/// docs/DESIGN.md §4's promise: any Avro library decodes every topic with the <c>.avsc</c> files alone.
/// Records go through a real broker with real Confluent clients; Debian's python3-avro decodes
/// the raw values with nothing but <c>schemas/*.avsc</c> (see decode_with_avsc.py).
/// </summary>
public sealed class ThirdPartyDecodeTests
{
    private const string Python = "/usr/bin/python3";
    private static readonly TimeSpan PythonTimeout = TimeSpan.FromSeconds(60);

    private sealed record Case(string Topic, long Offset, ISpecificRecord Record, long Fingerprint)
    {
        public string File => $"{Topic}-{Offset}.bin";
    }

    [SkippableFact]
    public async Task Python_avro_decodes_every_Avro_topic_with_the_avsc_files_alone()
    {
        var problem = await PythonAvroProblem();
        Skip.If(problem is not null, problem);

        var repo = RepoRoot();
        var script = Path.Combine(repo, "tests", "SafeHaven.Kafka.Tests", "Serialization", "decode_with_avsc.py");
        Assert.True(System.IO.File.Exists(script), $"missing {script}");

        using var broker = EmbeddedBroker.Start(1);
        var topics = new TopicNames($"t{Guid.NewGuid():N}.");
        string[] avroTopics = [topics.Samples, topics.Inventory, topics.Detections, topics.Commands, topics.Results, topics.Dlq];
        foreach (var topic in avroTopics)
        {
            broker.CreateTopic(topic, partitions: 1);
        }

        // Offset 0: every field set; offset 1: nullable fields null, collections empty.
        var cases = new List<Case>();
        cases.AddRange(await Produce(broker, topics.Samples, "host-7", SampleRecords.FullSample(), SampleRecords.MinimalSample()));
        // Offsets 2 and 3: what probes publish now, one SampleBatch per tick (docs/SAMPLES.md).
        cases.AddRange(await Produce(broker, topics.Samples, "host-7", SampleRecords.FullBatch(), SampleRecords.MinimalBatch()));
        cases.AddRange(await Produce(broker, topics.Inventory, "dc-eu-1/host-7/pid/424242", SampleRecords.FullState(), SampleRecords.MinimalState()));
        cases.AddRange(await Produce(broker, topics.Detections, "dc-eu-1/host-7/pid/424242", SampleRecords.FullDetection(), SampleRecords.MinimalDetection()));
        cases.AddRange(await Produce(broker, topics.Commands, "host-7", SampleRecords.FullCommand(), SampleRecords.MinimalCommand()));
        cases.AddRange(await Produce(broker, topics.Results, "cmd-0001", SampleRecords.FullResult(), SampleRecords.MinimalResult()));
        cases.AddRange(await Produce(broker, topics.Dlq, "host", SampleRecords.FullDeadLetter(), SampleRecords.MinimalDeadLetter()));

        var raw = ConsumeRaw(broker.BootstrapServers, avroTopics, cases.Count);
        Assert.Equal(cases.Select(c => (c.Topic, c.Offset)).Order(), raw.Keys.Order());

        var dir = Directory.CreateTempSubdirectory("safehaven-avro-");
        try
        {
            foreach (var c in cases)
            {
                await System.IO.File.WriteAllBytesAsync(Path.Combine(dir.FullName, c.File), raw[(c.Topic, c.Offset)]);
            }

            var (exit, stdout, stderr) = await Run(Python, [script, Path.Combine(repo, "schemas"), .. cases.Select(c => Path.Combine(dir.FullName, c.File))]);
            Assert.True(exit == 0, $"decode_with_avsc.py exited {exit}: {stderr}");

            var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.Equal(cases.Count, lines.Length);
            var decoded = lines.Select(l => JsonDocument.Parse(l).RootElement).ToDictionary(e => e.GetProperty("file").GetString()!);
            foreach (var c in cases)
            {
                Assert.True(decoded.TryGetValue(c.File, out var line), $"no output for {c.File}");
                Assert.Equal($"safehaven.v1.{c.Record.GetType().Name}", line.GetProperty("schema").GetString());
                Assert.Equal(unchecked((ulong)c.Fingerprint).ToString("x16"), line.GetProperty("fingerprint").GetString());
                RecordAssert.EqualJson(c.Record, line.GetProperty("record"), c.File);
            }

            // The key fields, spelled out.
            var sample = decoded[$"{topics.Samples}-0.bin"].GetProperty("record");
            Assert.Equal(123_456, sample.GetProperty("values").GetProperty("context-switches").GetInt64());
            Assert.Equal(long.MinValue, sample.GetProperty("values").GetProperty("proc:majflt").GetInt64());
            Assert.Equal(424_242, sample.GetProperty("entity").GetProperty("pid").GetInt32());
            Assert.Equal(JsonValueKind.Null, decoded[$"{topics.Samples}-1.bin"].GetProperty("record").GetProperty("entity").GetProperty("pid").ValueKind);
            var batch = decoded[$"{topics.Samples}-2.bin"].GetProperty("record");
            Assert.Equal(["context-switches", "bus-lock", "raw:0x01a2", "tp:sched:sched_switch", "proc:majflt", "cpu-migrations"],
                batch.GetProperty("counters").EnumerateArray().Select(e => e.GetString()));
            var entries = batch.GetProperty("samples").EnumerateArray().ToList();
            Assert.Equal(424_242, entries[0].GetProperty("pid").GetInt32());
            Assert.Equal(long.MinValue, entries[0].GetProperty("values")[4].GetInt64());
            Assert.Equal(JsonValueKind.Null, entries[0].GetProperty("values")[5].ValueKind);
            Assert.Equal(JsonValueKind.Null, entries[1].GetProperty("pid").ValueKind);
            Assert.Equal("c0ffee", entries[1].GetProperty("container").GetString());
            Assert.Equal(4_321, entries[1].GetProperty("endOffsetNs").GetInt64());
            Assert.Equal(SampleRecords.FullSample().seq, batch.GetProperty("firstSeq").GetInt64());
            Assert.Equal(12_345.678_901_234_5, decoded[$"{topics.Detections}-0.bin"].GetProperty("record").GetProperty("rate").GetDouble());
            Assert.Equal(98_765, decoded[$"{topics.Results}-0.bin"].GetProperty("record").GetProperty("phases").GetProperty("cpuset").GetInt64());
            Assert.Equal(Convert.ToHexStringLower(SampleRecords.FullCommand().signature),
                decoded[$"{topics.Commands}-0.bin"].GetProperty("record").GetProperty("signature").GetString());
            Assert.Equal("c301", decoded[$"{topics.Dlq}-0.bin"].GetProperty("record").GetProperty("value").GetString()![..4]);
            Assert.Equal(["core", "container", "vm"], decoded[$"{topics.Inventory}-0.bin"].GetProperty("record").GetProperty("levels").EnumerateArray().Select(e => e.GetString()));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [SkippableFact]
    public async Task Python_decoder_refuses_a_value_whose_fingerprint_matches_no_avsc()
    {
        var problem = await PythonAvroProblem();
        Skip.If(problem is not null, problem);
        var repo = RepoRoot();
        var script = Path.Combine(repo, "tests", "SafeHaven.Kafka.Tests", "Serialization", "decode_with_avsc.py");

        // The C# namespace's schema (SafeHaven.Schemas) is not a contract: its fingerprint must not match.
        var data = new SingleObjectCodec<Detection>().Encode(SampleRecords.FullDetection());
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(2), Avro.SchemaNormalization.ParsingFingerprint64(new Detection().Schema));
        var file = Path.Combine(Path.GetTempPath(), $"safehaven-foreign-{Guid.NewGuid():N}.bin");
        await System.IO.File.WriteAllBytesAsync(file, data);
        try
        {
            var (exit, stdout, stderr) = await Run(Python, [script, Path.Combine(repo, "schemas"), file]);
            Assert.Equal(1, exit);
            Assert.Empty(stdout.Trim());
            Assert.Contains("matches no schema", stderr, StringComparison.Ordinal);
        }
        finally
        {
            System.IO.File.Delete(file);
        }
    }

    private static async Task<IEnumerable<Case>> Produce<T>(EmbeddedBroker broker, string topic, string key, params T[] records)
        where T : class, ISpecificRecord, new()
    {
        var serializer = new SingleObjectSerializer<T>();
        using var producer = new ProducerBuilder<string, T>(TestKafka.Producer(broker.BootstrapServers))
            .SetValueSerializer(serializer)
            .Build();
        var cases = new List<Case>();
        foreach (var record in records)
        {
            // One at a time, so offsets follow the order of the records.
            var delivered = await producer.ProduceAsync(topic, new Message<string, T> { Key = key, Value = record }).WaitAsync(TestKafka.Deadline);
            Assert.Equal(PersistenceStatus.Persisted, delivered.Status);
            cases.Add(new Case(topic, delivered.Offset.Value, record, serializer.Codec.Fingerprint));
        }
        return cases;
    }

    private static Dictionary<(string Topic, long Offset), byte[]> ConsumeRaw(string bootstrap, string[] topics, int count)
    {
        var raw = new Dictionary<(string, long), byte[]>();
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(TestKafka.Consumer(bootstrap, TestKafka.Unique("serde-3p"))).Build();
        consumer.Subscribe(topics);
        var deadline = DateTime.UtcNow + TestKafka.Deadline;
        while (raw.Count < count && DateTime.UtcNow < deadline)
        {
            var record = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (record is not null)
            {
                Assert.True(raw.TryAdd((record.Topic, record.Offset.Value), record.Message.Value), $"duplicate {record.TopicPartitionOffset}");
            }
        }
        consumer.Close();
        return raw;
    }

    /// <summary>Why Debian's Python cannot run the decoder, or null when it can.</summary>
    private static async Task<string?> PythonAvroProblem()
    {
        if (!System.IO.File.Exists(Python))
        {
            return $"{Python} is missing (apt-get install python3 python3-avro)";
        }
        var (exit, _, stderr) = await Run(Python, ["-c", "import avro.errors, avro.io, avro.name, avro.schema"]);
        return exit == 0 ? null : $"{Python} has no usable avro module (apt-get install python3-avro): {stderr.Trim()}";
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> Run(string program, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(PythonTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} did not finish within {PythonTimeout}");
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>
    /// The repository root (the directory holding SafeHaven.sln): above the test binaries, or,
    /// when they were built elsewhere (<c>--artifacts-path</c>), above this source file.
    /// </summary>
    private static string RepoRoot([CallerFilePath] string sourceFile = "")
    {
        string[] starts = [AppContext.BaseDirectory, Environment.CurrentDirectory, Path.GetDirectoryName(sourceFile) ?? ""];
        foreach (var start in starts.Where(s => s.Length > 0))
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (System.IO.File.Exists(Path.Combine(dir.FullName, "SafeHaven.sln")))
                {
                    return dir.FullName;
                }
            }
        }
        throw new InvalidOperationException($"no SafeHaven.sln above any of: {string.Join(", ", starts)}");
    }
}
