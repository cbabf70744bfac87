namespace SafeHaven.Kafka.Topics;

/// <summary>Makes sure topics exist with the expected shape. Implementations are idempotent.</summary>
public interface ITopicProvisioner
{
    /// <summary>Creates the missing topics and checks the partition count of existing ones.</summary>
    /// <param name="topics">Topics that must exist.</param>
    /// <param name="ct">Cancels the wait (a request already sent to the cluster may still complete).</param>
    /// <returns>Names of the topics this call created, in the order given.</returns>
    /// <exception cref="InvalidOperationException">An existing topic has a different partition count.</exception>
    Task<IReadOnlyList<string>> EnsureAsync(IEnumerable<TopicSpec> topics, CancellationToken ct);
}
