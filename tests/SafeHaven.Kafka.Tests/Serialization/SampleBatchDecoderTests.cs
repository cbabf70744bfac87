using SafeHaven.Core;
using SafeHaven.Core.Detector;
using SafeHaven.Core.Rules;
using SafeHaven.Core.Samples;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;

namespace SafeHaven.Kafka.Tests.Serialization;

/// <summary>The detector's schema-specialised decoder agrees with Apache.Avro's generic reader.</summary>
public sealed class SampleBatchDecoderTests
{
    private readonly SingleObjectCodec<SampleBatch> _codec = new();

    [Fact]
    public void Decodes_every_entry_exactly_as_the_generic_reader_and_Expand()
    {
        var batch = SampleRecords.FullBatch();
        var bytes = _codec.Encode(batch);
        var decoder = new SampleBatchDecoder();

        Assert.True(SampleBatchDecoder.IsSampleBatch(bytes));
        Assert.Equal(2, decoder.Decode(bytes));
        var expected = SampleBatches.Expand(_codec.Decode(bytes));
        for (var i = 0; i < 2; i++)
        {
            var actual = decoder[i].ToCounterSample(i == 0 ? decoder.DroppedSamples : 0);
            RecordAssert.Equal(expected[i], actual, $"entry {i}");
        }
        Assert.Null(decoder.HostProblem);
    }

    [Fact]
    public void Reuses_its_views_and_a_second_batch_replaces_the_first()
    {
        var decoder = new SampleBatchDecoder();
        decoder.Decode(_codec.Encode(SampleRecords.FullBatch()));
        var first = decoder[0];
        Assert.Equal(0, decoder.Decode(_codec.Encode(SampleRecords.MinimalBatch())));
        Assert.Throws<ArgumentOutOfRangeException>(() => decoder[0]);
        Assert.Equal(2, decoder.Decode(_codec.Encode(SampleRecords.FullBatch())));
        Assert.Same(first, decoder[0]);
    }

    [Fact]
    public void A_CounterSample_is_not_a_batch_and_a_truncated_batch_does_not_decode()
    {
        var decoder = new SampleBatchDecoder();
        var single = new SingleObjectCodec<CounterSample>().Encode(SampleRecords.FullSample());
        Assert.False(SampleBatchDecoder.IsSampleBatch(single));
        Assert.Throws<AvroDecodeException>(() => decoder.Decode(single));
        var bytes = _codec.Encode(SampleRecords.FullBatch());
        Assert.Contains("does not decode", Assert.Throws<AvroDecodeException>(() => decoder.Decode(bytes[..^3])).Message, StringComparison.Ordinal);
        Assert.Contains("bytes left", Assert.Throws<AvroDecodeException>(() => decoder.Decode([.. bytes, 0])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Cached_state_keys_follow_a_rule_reload_that_reorders_the_rules()
    {
        const string Two = """
            rules:
              - { name: a, counter: context-switches, threshold: 1, scope: core }
              - { name: b, counter: bus-lock, threshold: 1, scope: core }
            """;
        var engine = new DetectorEngine(RulesParser.Parse(Two, "r.yaml"));
        var decoder = new SampleBatchDecoder();
        var store = new KeyRecorder();
        decoder.Decode(_codec.Encode(SampleRecords.FullBatch()));
        engine.Evaluate(decoder[0], store, new List<Detection>());
        engine.Replace(RulesParser.Parse("""
            rules:
              - { name: b, counter: context-switches, threshold: 1, scope: core }
              - { name: c, counter: bus-lock, threshold: 1, scope: core }
            """, "r.yaml"));
        decoder.Decode(_codec.Encode(SampleRecords.FullBatch()));
        engine.Evaluate(decoder[0], store, new List<Detection>());

        var id = decoder[0].EntityId;
        Assert.Equal([$"{id}#a", $"{id}#b", $"{id}#b", $"{id}#c"], store.Keys);
    }

    [Fact]
    public void Entities_are_found_by_pid_when_a_host_reorders_or_replaces_its_processes()
    {
        var decoder = new SampleBatchDecoder();
        byte[] Tick(params (int Pid, string Comm)[] processes) => _codec.Encode(SampleBatches.From(
            [.. processes.Select((p, i) => new CounterSample
            {
                host = "h1",
                entity = new EntityRef { datacenter = "dc1", host = "h1", pid = p.Pid, comm = p.Comm },
                values = new Dictionary<string, long> { ["context-switches"] = 1 },
                intervalNs = 1_000_000_000,
                timestampNs = 1_700_000_000_000_000_000 + i,
                seq = i,
            })]));
        void AssertEntities(params (int Pid, string Comm)[] expected)
        {
            Assert.Equal(expected.Length, decoder.Count);
            for (var i = 0; i < expected.Length; i++)
            {
                Assert.Equal(expected[i].Pid, decoder[i].Pid);
                Assert.Equal(EntityIds.Within(EntityIds.OfHost("dc1", "h1"), expected[i].Pid, null, null), decoder[i].EntityId);
                Assert.Equal(expected[i].Comm, decoder[i].Comm);
            }
        }

        decoder.Decode(Tick((1, "a"), (2, "b"), (3, "c")));
        AssertEntities((1, "a"), (2, "b"), (3, "c"));
        decoder.Decode(Tick((3, "c"), (1, "a"), (2, "b")));   // same processes, another order
        AssertEntities((3, "c"), (1, "a"), (2, "b"));
        decoder.Decode(Tick((3, "c"), (4, "d"), (2, "b")));   // pid 1 exited, pid 4 took its place
        AssertEntities((3, "c"), (4, "d"), (2, "b"));
        decoder.Decode(Tick((1, "a2"), (4, "d"), (2, "b"), (5, "e")));
        AssertEntities((1, "a2"), (4, "d"), (2, "b"), (5, "e"));

        // A container entry (no pid: not cached) where pid 1 stood: its id is its own, not the cached one of pid 1.
        var container = new SampleBatch
        {
            host = "h1", datacenter = "dc1", timestampNs = 1_700_000_000_000_000_000, counters = ["context-switches"],
            samples = [new SampleEntry { container = "c1", intervalNs = 1_000_000_000, values = [1] }],
        };
        decoder.Decode(_codec.Encode(container));
        Assert.Equal(EntityIds.Within(EntityIds.OfHost("dc1", "h1"), null, "c1", null), decoder[0].EntityId);
        Assert.Null(decoder[0].Pid);
        Assert.Null(decoder[0].Comm);
        decoder.Decode(Tick((1, "a2")));
        AssertEntities((1, "a2"));
    }

    private sealed class KeyRecorder : IRuleStateStore
    {
        public List<string> Keys { get; } = [];

        public RuleState? Find(string key)
        {
            Keys.Add(key);
            return null;
        }

        public void Put(string key, RuleState state) { }

        public void Delete(string key) { }
    }

    [Fact]
    public void With_a_schema_registry_the_topic_reader_tells_a_batch_from_a_single_sample()
    {
        var serdes = new KafkaSerdes(new InMemorySchemaRegistryClient());
        var context = new Confluent.Kafka.SerializationContext(Confluent.Kafka.MessageComponentType.Value, "t");
        var reader = new SamplesTopicReader(serdes);
        var batch = serdes.Serializer<SampleBatch>().Serialize(SampleRecords.FullBatch(), context);
        var single = serdes.Serializer<CounterSample>().Serialize(SampleRecords.FullSample(), context);

        Assert.Equal(2, reader.Read(batch, "t").Count);
        RecordAssert.Equal(SampleRecords.FullSample(), Assert.Single(reader.Read(single, "t")));
    }

    [Fact]
    public void The_topic_reader_reads_batches_and_single_samples()
    {
        var reader = new SamplesTopicReader(new KafkaSerdes());
        Assert.Equal(2, reader.Read(_codec.Encode(SampleRecords.FullBatch()), "t").Count);
        var single = Assert.Single(reader.Read(new SingleObjectCodec<CounterSample>().Encode(SampleRecords.FullSample()), "t"));
        RecordAssert.Equal(SampleRecords.FullSample(), single);
    }
}
