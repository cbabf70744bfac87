using System.Globalization;
using Confluent.Kafka;

namespace SafeHaven.Kafka.Topics;

/// <summary>What both provisioners share: validating the request and checking existing topics.</summary>
internal static class TopicPlan
{
    /// <summary>Validates the specs and drops exact duplicates, keeping the first-seen order.</summary>
    internal static List<TopicSpec> Normalize(IEnumerable<TopicSpec> topics)
    {
        ArgumentNullException.ThrowIfNull(topics);
        var byName = new Dictionary<string, TopicSpec>(StringComparer.Ordinal);
        var result = new List<TopicSpec>();
        foreach (var spec in topics)
        {
            if (spec is null)
            {
                throw new ArgumentException("Topic specs must not contain null.", nameof(topics));
            }

            TopicNameRules.Validate(spec.Name, nameof(topics));
            if (spec.Partitions < 1)
            {
                throw new ArgumentException($"Topic '{spec.Name}' needs at least 1 partition, not {spec.Partitions}.", nameof(topics));
            }

            if (byName.TryGetValue(spec.Name, out var earlier))
            {
                if (earlier != spec)
                {
                    throw new ArgumentException($"Topic '{spec.Name}' is requested twice, as {earlier} and as {spec}.", nameof(topics));
                }

                continue;
            }

            byName.Add(spec.Name, spec);
            result.Add(spec);
        }

        return result;
    }

    /// <summary>Partition count of every topic in the cluster.</summary>
    /// <remarks>
    /// Asks for all topics on purpose: a metadata request naming a missing topic lets a
    /// producer-type handle (which the AdminClient is) auto-create it.
    /// </remarks>
    internal static Task<Dictionary<string, int>> PartitionCountsAsync(IAdminClient admin, TimeSpan timeout, CancellationToken ct) =>
        Task.Run(
            () => admin.GetMetadata(timeout).Topics
                .Where(t => t.Error.Code != ErrorCode.UnknownTopicOrPart)
                .ToDictionary(t => t.Topic, t => t.Partitions.Count, StringComparer.Ordinal),
            ct);

    /// <summary>Throws if any of <paramref name="specs"/> exists with another partition count.</summary>
    internal static void CheckPartitions(IEnumerable<TopicSpec> specs, IReadOnlyDictionary<string, int> existing, string cluster)
    {
        var mismatches = specs
            .Where(s => existing.TryGetValue(s.Name, out var actual) && actual != s.Partitions)
            .Select(s => string.Create(
                CultureInfo.InvariantCulture,
                $"topic '{s.Name}' has {existing[s.Name]} partitions, expected {s.Partitions}"))
            .ToList();
        if (mismatches.Count > 0)
        {
            throw new InvalidOperationException(
                $"Existing topics on {cluster} do not match: {string.Join("; ", mismatches)}. " +
                "Kafka cannot shrink a topic and growing one remaps keys: fix the topic or the configured partition count.");
        }
    }

    internal static IAdminClient CreateAdmin(string bootstrapServers) =>
        new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();

    internal static IAdminClient CreateAdmin(AdminClientConfig config) => new AdminClientBuilder(config).Build();
}
