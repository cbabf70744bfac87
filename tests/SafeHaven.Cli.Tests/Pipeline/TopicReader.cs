using Confluent.Kafka;
using SafeHaven.Kafka.Serialization;

namespace SafeHaven.Cli.Tests.Pipeline;

/// <summary>Reads one topic's Avro records from a consumer until the caller has seen enough (bounded by the token).</summary>
internal static class TopicReader
{
    /// <summary>Decodes the records of <paramref name="topic"/> in order until <paramref name="done"/> holds for what was read.</summary>
    public static List<T> Until<T>(IConsumer<string, byte[]> consumer, string topic, Func<List<T>, bool> done, CancellationToken ct)
        where T : class, Avro.Specific.ISpecificRecord, new()
    {
        var codec = new SingleObjectCodec<T>();
        var seen = new List<T>();
        while (!done(seen))
        {
            ct.ThrowIfCancellationRequested();
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { Message.Value: { } value } cr && cr.Topic == topic)
            {
                seen.Add(codec.Decode(value));
            }
        }
        return seen;
    }

    /// <summary>The next record of <paramref name="topic"/>.</summary>
    public static T Next<T>(IConsumer<string, byte[]> consumer, string topic, CancellationToken ct)
        where T : class, Avro.Specific.ISpecificRecord, new() => Until<T>(consumer, topic, seen => seen.Count > 0, ct)[0];
}
