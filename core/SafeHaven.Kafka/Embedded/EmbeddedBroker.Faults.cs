using Confluent.Kafka;
using SafeHaven.Kafka.Topics;

namespace SafeHaven.Kafka.Embedded;

// Faults a real cluster shows and the mock can be told to show: for tests of what a role does when the broker refuses it.
public sealed partial class EmbeddedBroker
{
    /// <summary>
    /// Makes the cluster answer every Metadata request naming <paramref name="topic"/> with <paramref name="error"/>
    /// (<see cref="ErrorCode.NoError"/> clears it). With <see cref="ErrorCode.UnknownTopicOrPart"/> the topic looks
    /// deleted on a cluster that does not create topics on demand: a client that has not written to it yet learns no
    /// partition, and librdkafka fails its records once <c>topic.metadata.propagation.max.ms</c> (30 s) has passed since
    /// it first named the topic. Clients that already know the topic's partitions keep writing to them (the mock's
    /// Produce handler does not look at this error).
    /// </summary>
    /// <param name="topic">An existing topic.</param>
    /// <param name="error">The topic-level error of the Metadata response.</param>
    public void SetTopicError(string topic, ErrorCode error)
    {
        TopicNameRules.Validate(topic, nameof(topic));
        lock (_gate)
        {
            LibRdKafka.rd_kafka_mock_topic_set_error(Cluster(), topic, (int)error);
        }
    }
}
