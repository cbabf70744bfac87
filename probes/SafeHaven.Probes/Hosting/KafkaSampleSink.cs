using Confluent.Kafka;
using SafeHaven.Kafka.Clients;
using SafeHaven.Schemas;

namespace SafeHaven.Probes.Hosting;

/// <summary>
/// Publishes samples to <c>safehaven.samples</c>, keyed by host id. <c>Produce</c> only queues
/// (librdkafka buffers and retries), so the sampling loop never waits for the broker.
/// </summary>
public sealed class KafkaSampleSink : ISampleSink, IDisposable
{
    private readonly IProducer<string, byte[]> _producer;
    private readonly ISerializer<CounterSample> _serializer;
    private readonly string _topic;
    private long _failed;

    /// <summary>Creates the sink with its own idempotent producer.</summary>
    public KafkaSampleSink(KafkaClients kafka, string clientId)
    {
        ArgumentNullException.ThrowIfNull(kafka);
        _producer = new ProducerBuilder<string, byte[]>(kafka.Producer(clientId)).Build();
        _serializer = kafka.Serdes.Serializer<CounterSample>();
        _topic = kafka.Topics.Samples;
    }

    /// <summary>Samples whose delivery failed for good.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <inheritdoc/>
    public void Publish(CounterSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ConsumeLoop.Produce(_producer, _serializer, _topic, sample.host, sample, report =>
        {
            if (report.Error.IsError)
            {
                Interlocked.Increment(ref _failed);
            }
        });
    }

    /// <summary>Waits up to <paramref name="timeout"/> for queued samples to be delivered.</summary>
    public void Flush(TimeSpan timeout) => _producer.Flush(timeout);

    /// <inheritdoc/>
    public void Dispose()
    {
        _producer.Flush(TimeSpan.FromSeconds(5));
        _producer.Dispose();
    }
}
