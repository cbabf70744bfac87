using SafeHaven.Core.Detector;
using SafeHaven.Core.Rules;
using SafeHaven.Core.Samples;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using SafeHaven.StreamProcessors.Detection;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.Mock;
using Streamiz.Kafka.Net.SerDes;
using SafeHaven.StreamProcessors.Streams;

namespace SafeHaven.StreamProcessors.Tests.Detection;

/// <summary>The detector on <c>SampleBatch</c> records (docs/SAMPLES.md), beside single <c>CounterSample</c>s.</summary>
public sealed class DetectorBatchTopologyTests : IDisposable
{
    private const string RulesYaml = """
        rules:
          - { name: cs-storm, counter: context-switches, threshold: 1000, scope: core, sustain: 2, cooldown: 10s }
          - { name: fault-storm, counter: page-faults, threshold: 500, scope: machine }
        """;

    private readonly SingleObjectCodec<SampleBatch> _batchCodec = new();
    private readonly SingleObjectCodec<CounterSample> _codec = new();
    private readonly DetectorDriver _d = new();

    /// <summary>Tick <paramref name="tick"/> of host h1: pids 1..n, pid 7 and 13 storm context switches, pid 5 page faults.</summary>
    private static List<CounterSample> Tick(int tick, int n = 20) =>
    [
        .. Enumerable.Range(1, n).Select(pid =>
        {
            var s = Samples.Of(pid, ((long)tick * n) + pid - 1, "context-switches", pid is 7 or 13 ? 5000 : 100);
            s.timestampNs = (1_700_000_000 + tick) * Samples.Second + (pid * 1_000L);
            s.values["page-faults"] = pid == 5 ? 900 : 3;
            return s;
        }),
    ];

    [Fact]
    public void A_batch_gives_the_same_detections_with_the_same_ids_as_its_samples_one_by_one()
    {
        using var singles = new DetectorDriver();
        for (var t = 0; t < 3; t++)
        {
            _d.Input.PipeInput("h1", _batchCodec.Encode(SampleBatches.From(Tick(t))));
            foreach (var s in Tick(t))
            {
                singles.Input.PipeInput("h1", _codec.Encode(s));
            }
        }

        var fromBatches = _d.Detections.ReadKeyValueList().Select(r => (r.Message.Key, r.Message.Value.detectionId, r.Message.Value.rate, r.Message.Value.firstSampleAtNs)).ToList();
        var fromSingles = singles.Detections.ReadKeyValueList().Select(r => (r.Message.Key, r.Message.Value.detectionId, r.Message.Value.rate, r.Message.Value.firstSampleAtNs)).ToList();
        Assert.Equal(fromSingles, fromBatches);
        // pid 5 fires at once (sustain 1), pids 7 and 13 on their second tick (sustain 2).
        Assert.Equal(["dc1/h1/pid/13", "dc1/h1/pid/5", "dc1/h1/pid/7"], fromBatches.Select(d => d.Key).Order());
        var seq7 = Tick(1).Single(s => s.entity.pid == 7);
        Assert.Contains($"h1:{seq7.timestampNs}:{seq7.seq}:cs-storm", fromBatches.Select(d => d.detectionId));
        Assert.Equal((60L, 3L, 0L), (_d.Metrics.Samples, _d.Metrics.Batches, _d.Metrics.DeadLetters));
    }

    [Fact]
    public void A_bad_sample_inside_a_good_batch_is_the_only_dead_letter_and_the_rest_is_detected()
    {
        var tick0 = Tick(0);
        var tick1 = Tick(1);
        tick1.Single(s => s.entity.pid == 13).values["context-switches"] = -1; // negative count: invalid
        _d.Input.PipeInput("h1", _batchCodec.Encode(SampleBatches.From(tick0)));
        _d.Input.PipeInput("h1", _batchCodec.Encode(SampleBatches.From(tick1)));

        var dead = Assert.Single(_d.Dlq.ReadKeyValueList());
        Assert.Equal("h1", dead.Message.Key);
        Assert.Equal(1, dead.Message.Value.offset);
        Assert.Contains("batch entry 12 of 20", dead.Message.Value.reason, StringComparison.Ordinal);
        Assert.Contains("negative count", dead.Message.Value.reason, StringComparison.Ordinal);
        // The dead letter holds the bad sample alone, as a CounterSample: it can be read, fixed and replayed.
        var alone = _codec.Decode(dead.Message.Value.value);
        Assert.Equal((13, tick1[12].seq, -1L), (alone.entity.pid!.Value, alone.seq, alone.values["context-switches"]));
        var detected = _d.Detections.ReadKeyValueList().Select(r => r.Message.Key).Order().ToList();
        Assert.Equal(["dc1/h1/pid/5", "dc1/h1/pid/7"], detected);
        Assert.Equal((39L, 1L), (_d.Metrics.Samples, _d.Metrics.DeadLetters));
    }

    [Fact]
    public void An_entry_whose_values_do_not_match_the_counters_is_dead_lettered_alone()
    {
        var batch = SampleBatches.From(Tick(0, n: 3));
        batch.samples[1].values = [5000];
        _d.Input.PipeInput("h1", _batchCodec.Encode(batch));

        var dead = Assert.Single(_d.Dlq.ReadKeyValueList()).Message.Value;
        Assert.Contains("batch entry 1 of 3", dead.reason, StringComparison.Ordinal);
        Assert.Contains("1 values for 2 counters", dead.reason, StringComparison.Ordinal);
        Assert.Equal(2L, _d.Metrics.Samples);
    }

    [Fact]
    public void An_undecodable_batch_or_one_from_an_invalid_host_is_one_dead_letter_and_the_next_batch_is_processed()
    {
        var good = _batchCodec.Encode(SampleBatches.From(Tick(0)));
        _d.Input.PipeInput("h1", good[..^5]);
        var badHost = SampleBatches.From(Tick(0));
        badHost.host = "no such/host";
        _d.Input.PipeInput("h1", _batchCodec.Encode(badHost));
        _d.Input.PipeInput("h1", good);

        var dead = _d.Dlq.ReadKeyValueList().Select(r => r.Message.Value).ToList();
        Assert.Equal(2, dead.Count);
        Assert.Contains("SampleBatch: body does not decode", dead[0].reason, StringComparison.Ordinal);
        Assert.Equal(good[..^5], dead[0].value);
        Assert.Contains("unknown host", dead[1].reason, StringComparison.Ordinal);
        Assert.Equal(20L, _d.Metrics.Samples);
        Assert.Single(_d.Detections.ReadKeyValueList()); // pid 5, sustain 1
    }

    [Fact]
    public void Quiet_samples_write_no_rule_state()
    {
        var quiet = Tick(0);
        foreach (var s in quiet)
        {
            s.values["context-switches"] = 10;
            s.values["page-faults"] = 1;
        }
        _d.Input.PipeInput("h1", _batchCodec.Encode(SampleBatches.From(quiet)));
        _d.Input.PipeInput("h1", _batchCodec.Encode(SampleBatches.From(Tick(1))));

        var store = _d.Test.GetKeyValueStore<string, byte[]>(DetectorTopology.StoreName);
        // Only the entities above a threshold have state: pid 5 (faults), 7 and 13 (switches, one sample above).
        Assert.Equal(["dc1/h1/pid/13#cs-storm", "dc1/h1/pid/5#fault-storm", "dc1/h1/pid/7#cs-storm"],
            store.All().Select(kv => kv.Key).Order());
    }

    public void Dispose() => _d.Dispose();

    private sealed class DetectorDriver : IDisposable
    {
        private readonly TopicNames _topics = new();

        public DetectorDriver()
        {
            var engine = new DetectorEngine(RulesParser.Parse(RulesYaml, "rules.yaml"));
            var topology = DetectorTopology.Build(_topics, engine, new KafkaSerdes(), TimeProvider.System, Metrics);
            var config = new StreamConfig<StringSerDes, ByteArraySerDes> { ApplicationId = "detector-batch-test-" + Guid.NewGuid().ToString("N") };
            Test = new TopologyTestDriver(topology, config);
            Input = Test.CreateInputTopic<string, byte[], StringSerDes, ByteArraySerDes>(_topics.Samples);
            Detections = Test.CreateOutputTopic<string, SafeHaven.Schemas.Detection>(
                _topics.Detections, TimeSpan.FromSeconds(1), new StringSerDes(), new StreamizAvroSerDes<SafeHaven.Schemas.Detection>());
            Dlq = Test.CreateOutputTopic<string, DeadLetter>(_topics.Dlq, TimeSpan.FromSeconds(1), new StringSerDes(), new StreamizAvroSerDes<DeadLetter>());
        }

        public DetectorMetrics Metrics { get; } = new();

        public TopologyTestDriver Test { get; }

        public TestInputTopic<string, byte[]> Input { get; }

        public TestOutputTopic<string, SafeHaven.Schemas.Detection> Detections { get; }

        public TestOutputTopic<string, DeadLetter> Dlq { get; }

        public void Dispose() => Test.Dispose();
    }
}
