using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Embedded;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Probes.Hosting;
using SafeHaven.Schemas;

namespace SafeHaven.Probes.Tests.Hosting;

/// <summary>An embedded broker with a topic of its own, a sink factory and a reader, for one test.</summary>
internal sealed class SinkHarness : IDisposable
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    public SinkHarness()
    {
        string id = Guid.NewGuid().ToString("N");
        Broker = EmbeddedBroker.Start();
        Kafka = new KafkaClients(new KafkaOptions { BootstrapServers = Broker.BootstrapServers, TopicPrefix = $"t{id}." });
        // One partition: the whole stream is ordered, like one host's key.
        Broker.CreateTopic(Kafka.Topics.Samples, 1);
        ClientId = "probe-" + id;
    }

    public EmbeddedBroker Broker { get; }

    public KafkaClients Kafka { get; }

    public string ClientId { get; }

    /// <summary>A sink whose producer reconnects within 100 ms of the broker coming back.</summary>
    public KafkaSampleSink Sink(int buffer, int maxInFlight, int messageTimeoutMs = 60_000, ILogger? logger = null, TimeProvider? time = null) =>
        new(Kafka, ClientId, buffer, maxInFlight, c =>
        {
            c.ReconnectBackoffMs = 10;
            c.ReconnectBackoffMaxMs = 100;
            c.RetryBackoffMs = 10;
            c.RetryBackoffMaxMs = 100;
            c.MessageTimeoutMs = messageTimeoutMs;
        }, logger, time);

    public static CounterSample Sample(long seq) => new()
    {
        host = "h1",
        entity = new EntityRef { datacenter = "local", host = "h1", pid = 42, comm = "worker" },
        values = new Dictionary<string, long> { ["context-switches"] = seq * 10 },
        intervalNs = 1_000_000_000,
        timestampNs = 1_700_000_000_000_000_000 + seq,
        seq = seq,
    };

    /// <summary>Reads the topic from the start until <paramref name="distinct"/> different seqs arrived or the deadline.</summary>
    public List<CounterSample> Read(int distinct) => [.. ReadRecords(distinct).SelectMany(r => r)];

    /// <summary>Like <see cref="Read"/>, but keeps the samples of each record (a batch) together.</summary>
    public List<IReadOnlyList<CounterSample>> ReadRecords(int distinct)
    {
        var records = new List<IReadOnlyList<CounterSample>>();
        var seqs = new HashSet<long>();
        var reader = new SamplesTopicReader(Kafka.Serdes);
        using var consumer = new ConsumerBuilder<string, byte[]>(Kafka.Consumer("g-" + ClientId, "reader-" + ClientId)).Build();
        consumer.Subscribe(Kafka.Topics.Samples);
        var deadline = DateTime.UtcNow + Deadline;
        while (seqs.Count < distinct && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { Message: { } m })
            {
                var samples = reader.Read(m.Value, Kafka.Topics.Samples);
                records.Add(samples);
                seqs.UnionWith(samples.Select(s => s.seq));
            }
        }
        consumer.Close();
        return records;
    }

    /// <summary>Polls <paramref name="condition"/> (state the sink exposes) until true or the deadline.</summary>
    public static void WaitUntil(Func<bool> condition, string what) =>
        Assert.True(SpinWait.SpinUntil(condition, Deadline), "timed out waiting until " + what);

    public void Dispose()
    {
        Kafka.Dispose();
        Broker.Dispose();
    }
}
