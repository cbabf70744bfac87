using SafeHaven.Schemas;

namespace SafeHaven.Kafka.DeadLetters;

/// <summary>Builds <see cref="DeadLetter"/> records: the original bytes kept with the reason.</summary>
public static class DeadLetters
{
    /// <summary>A dead letter for a record read from <paramref name="topic"/>.</summary>
    public static DeadLetter Create(string topic, int partition, long offset, byte[]? key, byte[]? value,
        string reason, string consumer, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        return new DeadLetter
        {
            topic = topic,
            partition = partition,
            offset = offset,
            key = key,
            value = value,
            reason = reason,
            consumer = consumer,
            failedAtNs = UnixNanos(time),
        };
    }

    /// <summary>Now as Unix epoch nanoseconds.</summary>
    public static long UnixNanos(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        return (time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;
    }
}
