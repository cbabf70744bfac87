using System.Globalization;

namespace SafeHaven.Kafka.Topics;

/// <summary>A topic that must exist, as the provisioners create or verify it.</summary>
/// <param name="Name">Topic name.</param>
/// <param name="Partitions">Number of partitions.</param>
/// <param name="Compacted">Whether the topic uses <c>cleanup.policy=compact</c>.</param>
/// <param name="MinCompactionLag">
/// For a compacted topic, <c>min.compaction.lag.ms</c>: how long a record is kept before a newer record of its key may
/// replace it; null leaves the broker's default (0: at once).
/// </param>
public sealed record TopicSpec(string Name, int Partitions, bool Compacted = false, TimeSpan? MinCompactionLag = null)
{
    /// <summary>The topic configs a provisioner requests when it creates the topic; null when none.</summary>
    public IReadOnlyDictionary<string, string>? Configs()
    {
        if (!Compacted)
        {
            return null;
        }
        var configs = new Dictionary<string, string>(StringComparer.Ordinal) { ["cleanup.policy"] = "compact" };
        if (MinCompactionLag is { } lag)
        {
            configs["min.compaction.lag.ms"] = ((long)lag.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        }
        return configs;
    }
}
