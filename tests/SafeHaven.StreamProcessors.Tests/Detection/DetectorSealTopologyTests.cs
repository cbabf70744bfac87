using System.Text;
using Confluent.Kafka;
using SafeHaven.Core.Detector;
using SafeHaven.Core.Rules;
using SafeHaven.Core.Samples;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using SafeHaven.Security;
using SafeHaven.StreamProcessors.Detection;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.Mock;
using Streamiz.Kafka.Net.SerDes;
using SafeHaven.StreamProcessors.Streams;

namespace SafeHaven.StreamProcessors.Tests.Detection;

/// <summary>
/// The detector with probe keys trusted and a detector key (docs/SECURITY.md): a sealed batch is detected and each
/// detection carries a valid detector seal; an unsealed batch, an altered one, and one host's probe speaking for
/// another are dead-lettered. The same for host MACs (the fast seal of samples): one host's key, naming another host
/// or its own, cannot pass for the other's samples.
/// </summary>
public sealed class DetectorSealTopologyTests : IDisposable
{
    private const string RulesYaml = """
        rules:
          - { name: cs-storm, counter: context-switches, threshold: 1000, scope: core }
        """;

    private readonly RecordSigner _probe = RecordSigner.Ephemeral(KeyRoles.Probe, "dc1/h1");
    private readonly RecordSigner _otherProbe = RecordSigner.Ephemeral(KeyRoles.Probe, "dc1/h2");
    private readonly RecordSigner _detector = RecordSigner.Ephemeral(KeyRoles.Detector, "d1");
    private static readonly byte[] Master = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
    private readonly RecordSigner _h1Mac = HostMac("dc1/h1");
    private readonly RecordSigner _h2Mac = HostMac("dc1/h2");
    private readonly SingleObjectCodec<SampleBatch> _codec = new();
    private readonly TopicNames _topics = new();
    private readonly TopologyTestDriver _driver;
    private readonly TestInputTopic<string, byte[]> _input;

    public DetectorSealTopologyTests()
    {
        var masters = new Dictionary<string, byte[]> { [SampleMacKeys.KeyId(Master)] = Master };
        var seals = new RoleSeals { Detector = _detector, Verifier = RecordVerifier.Trusting(masters, _probe, _otherProbe, _detector) };
        var engine = new DetectorEngine(RulesParser.Parse(RulesYaml, "rules.yaml"));
        var topology = DetectorTopology.Build(_topics, engine, new KafkaSerdes(), TimeProvider.System, new DetectorMetrics(), seals: seals);
        _driver = new TopologyTestDriver(topology, new StreamConfig<StringSerDes, ByteArraySerDes> { ApplicationId = "detector-seal-" + Guid.NewGuid().ToString("N") });
        _input = _driver.CreateInputTopic<string, byte[], StringSerDes, ByteArraySerDes>(_topics.Samples);
    }

    private static RecordSigner HostMac(string host) =>
        RecordSigner.HostMac(SampleMacKeys.Derive(Master, host), new KeyIdentity(SampleMacKeys.KeyId(Master), KeyRoles.Probe, host));

    private List<string> DeadLetters() =>
        _driver.CreateOutputTopic<string, DeadLetter>(_topics.Dlq, TimeSpan.FromSeconds(1), new StringSerDes(), new StreamizAvroSerDes<DeadLetter>())
            .ReadKeyValueList().Select(r => r.Message.Value.reason).ToList();

    [Fact]
    public void A_host_mac_passes_for_its_own_host_only()
    {
        var genuine = Batch(0);
        _input.PipeInput("h1", genuine, Seals.Headers(_h1Mac, Seals.Kinds.Samples, "h1", genuine));
        // h2's key naming itself (the subject check), and h2's MAC relabelled as h1's (a wrong derived key).
        var claimed = Batch(1);
        _input.PipeInput("h1", claimed, Seals.Headers(_h2Mac, Seals.Kinds.Samples, "h1", claimed));
        var relabelled = Batch(2);
        var headers = Seals.Headers(_h2Mac, Seals.Kinds.Samples, "h1", relabelled);
        headers.Remove(SampleMacKeys.SubjectHeader);
        headers.Add(SampleMacKeys.SubjectHeader, Encoding.UTF8.GetBytes("dc1/h1"));
        _input.PipeInput("h1", relabelled, headers);

        Assert.Single(_driver.CreateOutputTopic<string, byte[], StringSerDes, ByteArraySerDes>(_topics.Detections).ReadKeyValueList());
        var dead = DeadLetters();
        Assert.Equal(2, dead.Count);
        Assert.Equal($"samples of host 'dc1/h1' sealed by the probe key {_h2Mac.Identity.KeyId} of 'dc1/h2'", dead[0]);
        Assert.StartsWith("bad MAC on a samples record of 'dc1/h1'", dead[1], StringComparison.Ordinal);
    }

    private byte[] Batch(int tick)
    {
        var s = Samples.Of(7, tick, "context-switches", 5000);
        s.timestampNs = (1_700_000_000 + tick) * Samples.Second;
        return _codec.Encode(SampleBatches.From([s]));
    }

    [Fact]
    public void Sealed_batches_are_detected_and_detections_are_sealed_by_the_detector_and_the_rest_is_dead_lettered()
    {
        var genuine = Batch(0);
        _input.PipeInput("h1", genuine, Seals.Headers(_probe, Seals.Kinds.Samples, "h1", genuine));
        var unsealed = Batch(1);
        _input.PipeInput("h1", unsealed, new Headers());
        var altered = Batch(2);
        var seal = Seals.Headers(_probe, Seals.Kinds.Samples, "h1", altered);
        altered[^1] ^= 1;
        _input.PipeInput("h1", altered, seal);
        var foreign = Batch(3);
        _input.PipeInput("h1", foreign, Seals.Headers(_otherProbe, Seals.Kinds.Samples, "h1", foreign));

        var detections = _driver.CreateOutputTopic<string, byte[], StringSerDes, ByteArraySerDes>(_topics.Detections).ReadKeyValueList().ToList();
        var only = Assert.Single(detections);
        var verifier = RecordVerifier.Trusting(_detector);
        var message = new Message<string, byte[]> { Key = only.Message.Key, Value = only.Message.Value, Headers = only.Message.Headers };
        Assert.Equal(_detector.Identity, Seals.Require(verifier, Seals.Kinds.Detections, message));

        var dead = DeadLetters();
        Assert.Equal(3, dead.Count);
        Assert.Equal("unsigned samples record", dead[0]);
        Assert.StartsWith("bad seal on a samples record", dead[1], StringComparison.Ordinal);
        Assert.Equal($"samples of host 'dc1/h1' sealed by the probe key {_otherProbe.Identity.KeyId} of 'dc1/h2'", dead[2]);
    }

    public void Dispose()
    {
        _driver.Dispose();
        _probe.Dispose();
        _otherProbe.Dispose();
        _detector.Dispose();
        _h1Mac.Dispose();
        _h2Mac.Dispose();
    }
}
