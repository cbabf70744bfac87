using System.Collections.Concurrent;
using Confluent.Kafka;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Security;

namespace SafeHaven.StreamProcessors.Tests.Planning.CrossDc;

/// <summary>Every record of a one-partition topic from its start, read on a thread of its own.</summary>
internal sealed class TopicTail : IDisposable
{
    private readonly ConcurrentQueue<Message<string, byte[]>> _records = new();
    private readonly IConsumer<string, byte[]> _consumer;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reader;

    public TopicTail(KafkaClients clients, string topic)
    {
        var config = clients.Consumer("tail-" + Guid.NewGuid().ToString("N"), "tail");
        config.EnableAutoCommit = false;
        _consumer = new ConsumerBuilder<string, byte[]>(config).Build();
        _consumer.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
        _reader = ConsumeLoop.OnOwnThread(() =>
        {
            while (!_stop.IsCancellationRequested)
            {
                if (_consumer.Consume(TimeSpan.FromMilliseconds(100)) is { IsPartitionEOF: false, Message: { } m })
                {
                    _records.Enqueue(m);
                }
            }
        }, CancellationToken.None);
    }

    public List<T> Decoded<T>() where T : class, Avro.Specific.ISpecificRecord, new() =>
        [.. _records.Where(m => m.Value is not null).Select(m => new SingleObjectCodec<T>().Decode(m.Value))];

    /// <summary>The records sealed by a key <paramref name="kafka"/> trusts (as the planner of that cluster checks them), decoded.</summary>
    public List<T> Sealed<T>(KafkaClients kafka, string kind) where T : class, Avro.Specific.ISpecificRecord, new() =>
        [.. _records.Where(m => m.Value is not null && IsSealed(kafka, kind, m)).Select(m => new SingleObjectCodec<T>().Decode(m.Value))];

    private static bool IsSealed(KafkaClients kafka, string kind, Message<string, byte[]> m)
    {
        try
        {
            return kafka.Seals.Require(kind, m) is not null;
        }
        catch (RecordRejectedException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _reader.GetAwaiter().GetResult();
        _consumer.Close();
        _consumer.Dispose();
        _stop.Dispose();
    }
}
