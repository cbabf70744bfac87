using System.Text.Json.Nodes;
using Confluent.Kafka;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Embedded;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using SafeHaven.Security;
using SafeHaven.StreamProcessors.Detection;
using SafeHaven.StreamProcessors.Siem;
using Streamiz.Kafka.Net;
using Xunit.Abstractions;

namespace SafeHaven.StreamProcessors.Tests.Siem;

/// <summary>
/// The projector in a Streamiz <see cref="KafkaStream"/> on the embedded broker, with seals checked: sealed detections
/// and results become events that Debian's python3-confluent-kafka consumes from the siem topic and validates against
/// the checked-in OCSF subset (the done-when); an unsealed detection and a garbage result are dead-lettered
/// and the projector goes on.
/// </summary>
public sealed class SiemOnEmbeddedBrokerTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [SkippableFact]
    public async Task Python_confluent_kafka_consumes_OCSF_events_that_validate()
    {
        var missing = await SiemPython.Missing("confluent_kafka", "python3-confluent-kafka");
        Skip.If(missing is not null, missing);

        using var broker = EmbeddedBroker.Start();
        var topics = new TopicNames("t" + Guid.NewGuid().ToString("N") + ".");
        await new MockTopicProvisioner(broker).EnsureAsync(topics.All(2), CancellationToken.None);
        var detector = RecordSigner.Ephemeral(KeyRoles.Detector, "detector");
        var actuator = RecordSigner.Ephemeral(KeyRoles.Actuator, "h1");
        var seals = new RoleSeals { Verifier = RecordVerifier.Trusting(detector, actuator) };
        var metrics = new SiemMetrics();
        var serdes = new KafkaSerdes();
        var topology = SiemTopology.Build(topics, new OcsfProjection("it"), serdes, TimeProvider.System, metrics, seals: seals);
        var options = new SiemOptions { ApplicationId = "siem-it-" + Guid.NewGuid().ToString("N") };
        using var kafka = new KafkaClients(new KafkaOptions { BootstrapServers = broker.BootstrapServers, TopicPrefix = topics.Prefix });
        using var stream = new KafkaStream(topology, SiemService.StreamConfig(options, kafka, null));
        var state = KafkaStream.State.CREATED;
        stream.StateChanged += (_, now) => state = now;
        await stream.StartAsync(new CancellationTokenSource(Deadline).Token).WaitAsync(Deadline);

        var d1 = SiemRecords.Detection();
        var d2 = SiemRecords.Detection(SiemRecords.Vm(), seq: 8);
        using (var producer = new ProducerBuilder<string, byte[]>(kafka.Producer("siem-it")).Build())
        {
            async Task Send<T>(string topic, string key, T record, RecordSigner? signer, string kind) where T : class, Avro.Specific.ISpecificRecord, new()
            {
                var value = serdes.Serializer<T>().Serialize(record, new SerializationContext(MessageComponentType.Value, topic));
                var headers = signer is null ? [] : Seals.Headers(signer, kind, key, value);
                await producer.ProduceAsync(topic, new Message<string, byte[]> { Key = key, Value = value, Headers = headers });
            }
            await Send(topics.Detections, "dc1/h1/pid/4242", d1, detector, Seals.Kinds.Detections);
            await Send(topics.Detections, "dc1/h1/pid/4242", SiemRecords.Detection(seq: 99), null, Seals.Kinds.Detections);
            await producer.ProduceAsync(topics.Results, new Message<string, byte[]> { Key = "junk", Value = [1, 2, 3] });
            await Send(topics.Detections, "dc1/hv1/vm/guest-1", d2, detector, Seals.Kinds.Detections);
            var r1 = SiemRecords.Result(d1);
            await Send(topics.Results, r1.commandId, r1, actuator, Seals.Kinds.Results);
            var r2 = SiemRecords.Result(d2, "vm", "failed");
            await Send(topics.Results, r2.commandId, r2, actuator, Seals.Kinds.Results);
        }

        var (exit, stdout, stderr) = await SiemPython.Run(["consume_siem.py", broker.BootstrapServers, topics.Siem, "ocsf", "4", "60"], null);
        output.WriteLine(stderr);
        Assert.True(exit == 0, $"consume_siem.py exit {exit}: {stdout} {stderr}");
        var events = JsonNode.Parse(stdout)!["events"]!.AsArray().Select(e => e!).ToList();
        Assert.Equal(4, events.Count);
        var findings = events.Where(e => (int)e["event"]!["class_uid"]! == 2004).ToList();
        Assert.Equal(new[] { d1.detectionId, d2.detectionId }.Order(), findings.Select(f => (string)f["event"]!["finding_info"]!["uid"]!).Order());
        var remediations = events.Except(findings).ToList();
        Assert.Equal(new[] { 7001, 7003 }, remediations.Select(r => (int)r["event"]!["class_uid"]!).Order());
        Assert.All(remediations, r => Assert.Contains((string)r["event"]!["metadata"]!["correlation_uid"]!, new[] { d1.detectionId, d2.detectionId }));
        Assert.All(events, e => Assert.StartsWith("dc1/", (string)e["key"]!, StringComparison.Ordinal));

        // The unsealed detection and the garbage result are dead letters; nothing stopped the projector.
        Assert.True(await Poll.Until(() => metrics.DeadLetters == 2, Deadline), $"dead letters: {metrics.DeadLetters}");
        Assert.Equal(4, metrics.Events);
        Assert.Equal(KafkaStream.State.RUNNING, state);
    }
}
