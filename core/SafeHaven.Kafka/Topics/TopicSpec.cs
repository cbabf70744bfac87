namespace SafeHaven.Kafka.Topics;

/// <summary>A topic that must exist, as the provisioners create or verify it.</summary>
/// <param name="Name">Topic name.</param>
/// <param name="Partitions">Number of partitions.</param>
/// <param name="Compacted">Whether the topic uses <c>cleanup.policy=compact</c>.</param>
public sealed record TopicSpec(string Name, int Partitions, bool Compacted = false);
