using System.Text.Json.Nodes;
using Confluent.Kafka;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using SafeHaven.Security;
using SafeHaven.StreamProcessors.Siem;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.Mock;
using Streamiz.Kafka.Net.SerDes;
using SafeHaven.StreamProcessors.Streams;

namespace SafeHaven.StreamProcessors.Tests.Siem;

/// <summary>
/// The projector's topology in Streamiz's <see cref="TopologyTestDriver"/>, with detector and actuator keys trusted: sealed
/// records become one event each, keyed by entity id, with no headers; unsealed, foreign-role, undecodable and
/// out-of-bounds records become one dead letter each (consumer <c>siem</c>), and the records after them still project.
/// </summary>
public sealed class SiemTopologyTests : IDisposable
{
    private readonly RecordSigner _detector = RecordSigner.Ephemeral(KeyRoles.Detector, "d1");
    private readonly RecordSigner _actuator = RecordSigner.Ephemeral(KeyRoles.Actuator, "h1");
    private readonly RecordSigner _probe = RecordSigner.Ephemeral(KeyRoles.Probe, "dc1/h1");
    private readonly TopicNames _topics = new();
    private readonly KafkaSerdes _serdes = new();
    private readonly SiemMetrics _metrics = new();
    private readonly TopologyTestDriver _driver;
    private readonly TestInputTopic<string, byte[]> _detections;
    private readonly TestInputTopic<string, byte[]> _results;

    public SiemTopologyTests()
    {
        var seals = new RoleSeals { Verifier = RecordVerifier.Trusting(_detector, _actuator, _probe) };
        var topology = SiemTopology.Build(_topics, new EcsProjection("t"), _serdes, TimeProvider.System, _metrics, seals: seals);
        _driver = new TopologyTestDriver(topology, new StreamConfig<StringSerDes, ByteArraySerDes> { ApplicationId = "siem-" + Guid.NewGuid().ToString("N") });
        _detections = _driver.CreateInputTopic<string, byte[], StringSerDes, ByteArraySerDes>(_topics.Detections);
        _results = _driver.CreateInputTopic<string, byte[], StringSerDes, ByteArraySerDes>(_topics.Results);
    }

    public void Dispose() => _driver.Dispose();

    [Fact]
    public void Sealed_records_project_and_every_bad_one_is_one_dead_letter()
    {
        var d = SiemRecords.Detection();
        var r = SiemRecords.Result(d);
        var bounded = SiemRecords.Detection(seq: 3);
        bounded.rule = new string('r', 5000);
        Pipe(_detections, "dc1/h1/pid/4242", d, _detector, Seals.Kinds.Detections);
        Pipe(_detections, "dc1/h1/pid/4242", SiemRecords.Detection(seq: 2), null, Seals.Kinds.Detections);           // unsealed
        Pipe(_detections, "dc1/h1/pid/4242", SiemRecords.Detection(seq: 4), _probe, Seals.Kinds.Inventory);          // a probe's seal: it may not write detections
        Pipe(_detections, "dc1/h1/pid/4242", bounded, _detector, Seals.Kinds.Detections);                            // out of bounds
        _results.PipeInput("junk", [0xC3, 0x01, 1, 2], Seals.Headers(_actuator, Seals.Kinds.Results, "junk", [0xC3, 0x01, 1, 2])); // undecodable
        Pipe(_results, r.commandId, r, _actuator, Seals.Kinds.Results);

        var events = _driver.CreateOutputTopic<string, string, StringSerDes, StringSerDes>(_topics.Siem).ReadKeyValueList().ToList();
        Assert.Equal(["dc1/h1/pid/4242", "dc1/h1/pid/4242"], events.Select(e => e.Message.Key));
        Assert.All(events, e => Assert.Empty(e.Message.Headers ?? []));
        var json = events.Select(e => JsonNode.Parse(e.Message.Value)!).ToList();
        Assert.Equal(["alert", "event"], json.Select(j => (string)j["event"]!["kind"]!));
        Assert.All(json, j => Assert.Equal(d.detectionId, (string)j["safehaven"]!["detection_id"]!));

        var letters = _driver.CreateOutputTopic<string, DeadLetter>(_topics.Dlq, TimeSpan.FromSeconds(1), new StringSerDes(), new StreamizAvroSerDes<DeadLetter>())
            .ReadKeyValueList().Select(l => l.Message.Value).ToList();
        Assert.Equal(4, letters.Count);
        Assert.All(letters, l => Assert.Equal("siem", l.consumer));
        Assert.Equal("unsigned detections record", letters[0].reason);
        Assert.Contains("may not write detections", letters[1].reason, StringComparison.Ordinal);
        Assert.StartsWith("Detection out of bounds: rule has 5000 characters", letters[2].reason, StringComparison.Ordinal);
        Assert.StartsWith("IsolationResult: ", letters[3].reason, StringComparison.Ordinal);
        Assert.Equal((2, 4), (_metrics.Events, _metrics.DeadLetters));
    }

    private void Pipe<T>(TestInputTopic<string, byte[]> topic, string key, T record, RecordSigner? signer, string kind) where T : class, Avro.Specific.ISpecificRecord, new()
    {
        var value = _serdes.Serializer<T>().Serialize(record, new SerializationContext(MessageComponentType.Value, "x"));
        topic.PipeInput(key, value, signer is null ? [] : Seals.Headers(signer, kind, key, value));
    }
}
