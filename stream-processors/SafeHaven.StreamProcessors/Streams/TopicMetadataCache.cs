using System.Collections.Concurrent;
using Confluent.Kafka;

namespace SafeHaven.StreamProcessors.Streams;

/// <summary>
/// Per-topic metadata answered from memory and refreshed off the caller's thread. Streamiz's sink asks its
/// admin client for the output topic's metadata (<c>StreamsProducer.PartitionsFor</c>, for the stream partitioner)
/// synchronously on the stream thread, at the first record and again whenever its own 5-minute cache has expired:
/// a broker round trip inside the processing of a detection. With this cache behind that admin client, the stream
/// thread only ever reads memory for the topics named here; other topics go to the broker as before.
/// </summary>
public sealed class TopicMetadataCache : IDisposable
{
    private readonly string[] _topics;
    private readonly Func<string, Metadata> _fetch;
    private readonly ConcurrentDictionary<string, Metadata> _answers = new(StringComparer.Ordinal);
    private Timer? _timer;
    private int _refreshing;

    /// <summary>A cache of <paramref name="topics"/>, each read with <paramref name="fetch"/> (a bounded broker lookup).</summary>
    public TopicMetadataCache(IEnumerable<string> topics, Func<string, Metadata> fetch)
    {
        ArgumentNullException.ThrowIfNull(topics);
        _topics = [.. topics.Distinct(StringComparer.Ordinal)];
        _fetch = fetch ?? throw new ArgumentNullException(nameof(fetch));
    }

    /// <summary>The topics this cache answers for once they have been read.</summary>
    public IReadOnlyList<string> Topics => _topics;

    /// <summary>
    /// The cached answer for <paramref name="topic"/>; without one (a topic not named, or never read successfully),
    /// <paramref name="direct"/>'s, as if there were no cache.
    /// </summary>
    public Metadata Get(string topic, Func<Metadata> direct)
    {
        ArgumentNullException.ThrowIfNull(direct);
        return topic is not null && _answers.TryGetValue(topic, out var known) ? known : direct();
    }

    /// <summary>
    /// Reads every topic once, now. An answer that names the topic without error and with partitions replaces the old
    /// one; a failed or empty lookup keeps the previous answer (a partition count is never taken back by Kafka, and a
    /// broker that is briefly away must not turn a good answer into none). Returns how many topics have an answer.
    /// </summary>
    public int Refresh()
    {
        // One refresh at a time: a slow broker must not pile up timer callbacks.
        if (Interlocked.Exchange(ref _refreshing, 1) == 1)
        {
            return _answers.Count;
        }
        try
        {
            foreach (var topic in _topics)
            {
                try
                {
                    var metadata = _fetch(topic);
                    if (metadata?.Topics?.Find(t => t.Topic == topic) is { Partitions.Count: > 0 } found && found.Error is not { IsError: true })
                    {
                        _answers[topic] = metadata;
                    }
                }
                catch (KafkaException)
                {
                    // Kept: the previous answer, or none (then Get asks the broker, as Streamiz would have).
                }
            }
            return _answers.Count;
        }
        finally
        {
            Volatile.Write(ref _refreshing, 0);
        }
    }

    /// <summary>Refreshes every <paramref name="every"/> on a timer (a short blocking lookup, off the stream thread).</summary>
    public void RefreshEvery(TimeSpan every)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(every, TimeSpan.Zero);
        _timer?.Dispose();
        _timer = new Timer(_ => Refresh(), null, every, every);
    }

    /// <summary>Stops refreshing.</summary>
    public void Dispose() => _timer?.Dispose();
}
