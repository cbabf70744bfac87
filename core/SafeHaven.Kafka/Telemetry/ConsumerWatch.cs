using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Confluent.Kafka;

namespace SafeHaven.Kafka.Telemetry;

/// <summary>
/// Consumer lag and readiness for every consumer a role registers: lag per assigned partition is the high watermark
/// minus the consumer's position, both as librdkafka last heard them (no broker request), exported as the observable
/// gauge <see cref="LagName"/>. A registered consumer is ready once it has partitions and at most
/// <see cref="CaughtUpLag"/> records behind on them in total.
/// </summary>
public static class ConsumerWatch
{
    /// <summary>The lag gauge, tagged <c>component</c>, <c>topic</c> and <c>partition</c>.</summary>
    public const string LagName = "safehaven.consumer.lag";

    /// <summary>Most records a consumer may be behind, summed over its partitions, and still count as caught up.</summary>
    public const long CaughtUpLag = 1000;

    private static readonly ConcurrentDictionary<long, (string Component, WeakReference<IConsumer<byte[], byte[]>>? Raw,
        WeakReference<IConsumer<string, byte[]>>? Keyed)> Consumers = new();

    private static long _next;

    private static readonly Meter Meter = SafeHavenMetrics.Kafka;

    internal static ObservableGauge<long> Lag { get; } = Meter.CreateObservableGauge(LagName, Observe, "{record}",
        "Records a consumer is behind the end of each partition it is assigned.");

    /// <summary>Watches <paramref name="consumer"/> (lag, and readiness under <paramref name="component"/>) until the returned handle is disposed.</summary>
    public static IDisposable Register(string component, IConsumer<string, byte[]> consumer)
    {
        var id = Add(component, null, new WeakReference<IConsumer<string, byte[]>>(consumer));
        return new Unregister(id, RoleHealth.Register(component, () => NotReady(component)));
    }

    /// <summary>
    /// Watches a Streamiz consumer's lag; it is dropped once disposed or collected (Streamiz owns its life, and replaces
    /// it after a fence). Its role registers readiness once, with <see cref="NotReady(string)"/>.
    /// </summary>
    public static void Register(string component, IConsumer<byte[], byte[]> consumer) =>
        Add(component, new WeakReference<IConsumer<byte[], byte[]>>(consumer), null);

    /// <summary>
    /// Null when the live consumers of <paramref name="component"/> have partitions and are caught up; otherwise what
    /// they wait for.
    /// </summary>
    public static string? NotReady(string component)
    {
        var lags = Consumers.Where(c => c.Value.Component == component).Select(c => LagOf(c.Key)).OfType<List<(TopicPartition Tp, long Lag)>>().ToList();
        if (lags.Count == 0)
        {
            return "no consumer running";
        }
        if (lags.All(l => l.Count == 0))
        {
            return "no partition assigned";
        }
        var behind = lags.Sum(l => l.Sum(p => p.Lag));
        return behind > CaughtUpLag ? $"{behind} records behind (more than {CaughtUpLag})" : null;
    }

    private static long Add(string component, WeakReference<IConsumer<byte[], byte[]>>? raw, WeakReference<IConsumer<string, byte[]>>? keyed)
    {
        ArgumentException.ThrowIfNullOrEmpty(component);
        _ = Lag;
        var id = Interlocked.Increment(ref _next);
        Consumers[id] = (component, raw, keyed);
        return id;
    }

    /// <summary>Lag per assigned partition of the consumer registered as <paramref name="id"/>; null when it is gone.</summary>
    private static List<(TopicPartition Tp, long Lag)>? LagOf(long id)
    {
        if (!Consumers.TryGetValue(id, out var entry))
        {
            return null;
        }
        try
        {
            if (entry.Raw is not null && entry.Raw.TryGetTarget(out var raw))
            {
                return Partitions(raw);
            }
            if (entry.Keyed is not null && entry.Keyed.TryGetTarget(out var keyed))
            {
                return Partitions(keyed);
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or KafkaException or InvalidOperationException)
        {
        }
        Consumers.TryRemove(id, out _);
        return null;
    }

    private static List<(TopicPartition, long)> Partitions<TKey>(IConsumer<TKey, byte[]> consumer)
    {
        var lags = new List<(TopicPartition, long)>();
        foreach (var tp in consumer.Assignment)
        {
            var high = consumer.GetWatermarkOffsets(tp).High;
            var position = consumer.Position(tp);
            // Before the first fetch either may be unknown: the partition counts as not read at all.
            lags.Add((tp, high.IsSpecial ? 0 : Math.Max(0, high.Value - (position.IsSpecial ? 0 : position.Value))));
        }
        return lags;
    }

    private static IEnumerable<Measurement<long>> Observe()
    {
        foreach (var (id, entry) in Consumers.ToArray())
        {
            foreach (var (tp, lag) in LagOf(id) ?? [])
            {
                yield return new Measurement<long>(lag,
                    new KeyValuePair<string, object?>("component", entry.Component),
                    new KeyValuePair<string, object?>("topic", tp.Topic),
                    new KeyValuePair<string, object?>("partition", tp.Partition.Value));
            }
        }
    }

    private sealed class Unregister(long id, IDisposable readiness) : IDisposable
    {
        public void Dispose()
        {
            readiness.Dispose();
            Consumers.TryRemove(id, out _);
        }
    }
}
