using System.Diagnostics;
using Confluent.Kafka;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Embedded;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;
using SafeHaven.Probes.Hosting;
using SafeHaven.Probes.Proc;
using SafeHaven.Schemas;

namespace SafeHaven.Probes.Tests.Hosting;

/// <summary>The publisher against the embedded broker over TCP, read back with a real Confluent consumer.</summary>
public sealed class InventoryPublisherTests
{
    private sealed class NullSink : ISampleSink
    {
        public void Publish(CounterSample sample) { }
    }

    [Fact]
    public async Task Publishes_host_and_entities_then_a_tombstone_when_one_exits()
    {
        using var broker = EmbeddedBroker.Start();
        string prefix = "t" + Guid.NewGuid().ToString("N") + ".";
        var kafkaOptions = new KafkaOptions { BootstrapServers = broker.BootstrapServers, TopicPrefix = prefix };
        using var kafka = new KafkaClients(kafkaOptions);
        await new MockTopicProvisioner(broker).EnsureAsync([new TopicSpec(kafka.Topics.Inventory, 1, Compacted: true)], CancellationToken.None);

        using var stays = ChildProcess.Idle();
        using var leaves = ChildProcess.Idle();
        var options = new ProbeOptions
        {
            Datacenter = "dc1",
            HostId = "h1",
            Period = TimeSpan.FromMilliseconds(1),
            Counters = ["proc:voluntary_ctxt_switches"],
            Pids = [stays.Pid, leaves.Pid],
        };
        options.Tenants["acme"] = ["comm:sh"];
        using var sampler = new Sampler(options, TimeProvider.System, new NullSink());
        using var publisher = new InventoryPublisher(kafka, options, TimeProvider.System);

        sampler.SampleOnce();
        Assert.Equal(new[] { leaves.Pid, stays.Pid }.Order(), sampler.WatchedPids.Order());
        Assert.Equal(3, publisher.Publish(sampler));
        Assert.Equal(0, publisher.Publish(sampler));   // nothing changed: nothing sent
        leaves.KillAndWait();
        sampler.SampleOnce();
        Assert.Equal(1, publisher.Publish(sampler));
        publisher.Flush(TimeSpan.FromSeconds(10));
        Assert.Equal(0, publisher.Failed);

        var records = ReadAll(kafka, 4, TimeSpan.FromSeconds(30));
        var decode = kafka.Serdes.Deserializer<EntityState>();
        // One round's records go in key order; the tombstone comes a round later.
        string stayKey = $"dc1/h1/pid/{stays.Pid}", leaveKey = $"dc1/h1/pid/{leaves.Pid}";
        Assert.Equal(["dc1/h1", .. new[] { stayKey, leaveKey }.Order(StringComparer.Ordinal), leaveKey], records.Select(r => r.Key));

        var host = KafkaSerdes.Decode(decode, records[0].Value, kafka.Topics.Inventory);
        Assert.Equal(("host", "h1"), (host.kind, host.entity.host));
        Assert.False(string.IsNullOrEmpty(host.cpus));
        Assert.Equal("comm:sh", host.attributes["tenant.acme"]);
        Assert.True(host.attributes.ContainsKey("smtSiblings"));
        Assert.Equal(sampler.CounterStatus, host.counterStatus);

        var entity = KafkaSerdes.Decode(decode, records.First(r => r.Key == stayKey).Value, kafka.Topics.Inventory);
        Assert.Equal(("process", stays.Pid, "sh", "acme"), (entity.kind, entity.entity.pid, entity.entity.comm, entity.tenant));
        Assert.Equal(["core"], entity.levels);
        Assert.Equal(ProcFs.Default.ReadStat(stays.Pid)!.Value.StartTime, entity.entity.startTime);

        Assert.NotNull(records.First(r => r.Key == leaveKey).Value);
        Assert.Null(records[3].Value);   // the tombstone
    }

    private static List<Message<string, byte[]>> ReadAll(KafkaClients kafka, int count, TimeSpan deadline)
    {
        using var consumer = new ConsumerBuilder<string, byte[]>(kafka.Consumer("inv-test-" + Guid.NewGuid().ToString("N"), "inv-test")).Build();
        // Assign, not subscribe: no group join, which the mock delays by seconds.
        consumer.Assign(new TopicPartitionOffset(kafka.Topics.Inventory, 0, Offset.Beginning));
        var records = new List<Message<string, byte[]>>();
        var sw = Stopwatch.StartNew();
        while (records.Count < count && sw.Elapsed < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { Message: { } m })
            {
                records.Add(m);
            }
        }
        return records;
    }
}
