using System.Text;
using SafeHaven.Core.Detector;
using SafeHaven.Core.Rules;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using SafeHaven.StreamProcessors.Detection;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.Mock;
using Streamiz.Kafka.Net.SerDes;
using SafeHaven.StreamProcessors.Streams;

namespace SafeHaven.StreamProcessors.Tests.Detection;

public sealed class DetectorTopologyTests : IDisposable
{
    private const string RulesYaml = """
        rules:
          - name: cs-storm
            counter: context-switches
            threshold: 1000
            scope: core
            sustain: 2
            cooldown: 10s
        """;

    private readonly TopicNames _topics = new();
    private readonly SingleObjectCodec<CounterSample> _codec = new();
    private readonly DetectorMetrics _metrics = new();
    private readonly TopologyTestDriver _driver;
    private readonly TestInputTopic<string, byte[]> _samples;
    private readonly TestOutputTopic<string, SafeHaven.Schemas.Detection> _detections;
    private readonly TestOutputTopic<string, DeadLetter> _dlq;

    public DetectorTopologyTests()
    {
        var engine = new DetectorEngine(RulesParser.Parse(RulesYaml, "rules.yaml"));
        var topology = DetectorTopology.Build(_topics, engine, new KafkaSerdes(), TimeProvider.System, _metrics);
        var config = new StreamConfig<StringSerDes, ByteArraySerDes> { ApplicationId = "detector-test-" + Guid.NewGuid().ToString("N") };
        _driver = new TopologyTestDriver(topology, config);
        _samples = _driver.CreateInputTopic<string, byte[], StringSerDes, ByteArraySerDes>(_topics.Samples);
        _detections = _driver.CreateOutputTopic<string, SafeHaven.Schemas.Detection>(
            _topics.Detections, TimeSpan.FromSeconds(1), new StringSerDes(), new StreamizAvroSerDes<SafeHaven.Schemas.Detection>());
        _dlq = _driver.CreateOutputTopic<string, DeadLetter>(
            _topics.Dlq, TimeSpan.FromSeconds(1), new StringSerDes(), new StreamizAvroSerDes<DeadLetter>());
    }

    private void Pipe(CounterSample s) => _samples.PipeInput(s.host, _codec.Encode(s));

    [Fact]
    public void Fires_once_after_sustained_samples_and_keys_by_entity()
    {
        Pipe(Samples.Of(42, 1, "context-switches", 5000));
        Pipe(Samples.Of(42, 2, "context-switches", 5000));
        Pipe(Samples.Of(42, 3, "context-switches", 5000));

        var list = _detections.ReadKeyValueList().ToList();
        var d = Assert.Single(list);
        Assert.Equal("dc1/h1/pid/42", d.Message.Key);
        Assert.Equal("cs-storm", d.Message.Value.rule);
        Assert.Equal(5000, d.Message.Value.rate, 6);
        Assert.Equal(Samples.Of(42, 1, "x", 0).timestampNs - Samples.Second, d.Message.Value.firstSampleAtNs);
        Assert.Equal(Samples.Of(42, 2, "x", 0).timestampNs, d.Message.Value.detectedAtNs);
        Assert.Equal(3, _metrics.Samples);
    }

    [Fact]
    public void Rate_is_count_over_interval()
    {
        // 1500 events in 2 s is 750/s: below ε = 1000 however many samples come.
        for (var seq = 1; seq <= 4; seq++)
        {
            Pipe(Samples.Of(7, seq, "context-switches", 1500, intervalNs: 2 * Samples.Second));
        }
        Assert.Empty(_detections.ReadKeyValueList());
        Pipe(Samples.Of(7, 5, "context-switches", 2500, intervalNs: 2 * Samples.Second));
        Pipe(Samples.Of(7, 6, "context-switches", 2500, intervalNs: 2 * Samples.Second));
        Assert.Single(_detections.ReadKeyValueList());
    }

    [Fact]
    public void Undecodable_and_invalid_samples_go_to_the_dead_letter_topic_and_processing_goes_on()
    {
        _samples.PipeInput("h1", Encoding.UTF8.GetBytes("this is not an avro record"));
        Pipe(Samples.Of(9, 1, "context-switches", 5000, intervalNs: 0));
        Pipe(Samples.Of(9, 2, "context-switches", -5));
        Pipe(Samples.Of(9, 3, "context-switches", 5000));
        Pipe(Samples.Of(9, 4, "context-switches", 5000));

        var dead = _dlq.ReadKeyValueList().Select(r => r.Message.Value).ToList();
        Assert.Equal(3, dead.Count);
        Assert.Contains("single-object marker", dead[0].reason, StringComparison.Ordinal);
        Assert.Contains("intervalNs must be > 0", dead[1].reason, StringComparison.Ordinal);
        Assert.Contains("negative count", dead[2].reason, StringComparison.Ordinal);
        Assert.Equal("this is not an avro record", Encoding.UTF8.GetString(dead[0].value!));
        Assert.All(dead, d => Assert.Equal(_topics.Samples, d.topic));
        Assert.Single(_detections.ReadKeyValueList());
        Assert.Equal(3, _metrics.DeadLetters);
    }

    public void Dispose() => _driver.Dispose();
}
