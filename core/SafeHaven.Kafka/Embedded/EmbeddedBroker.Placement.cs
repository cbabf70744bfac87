namespace SafeHaven.Kafka.Embedded;

// Where partitions live and how slowly brokers answer: for tests that need one topic's acknowledgements to be slow
// while another's are not (e.g. that a write-ahead record is acknowledged before the record it covers is produced).
public sealed partial class EmbeddedBroker
{
    /// <summary>Makes <paramref name="brokerId"/> the leader of a partition (clients follow after a metadata refresh).</summary>
    /// <param name="topic">An existing topic (the mock creates it otherwise).</param>
    /// <param name="partition">Partition number.</param>
    /// <param name="brokerId">Broker id, 1 to <see cref="BrokerCount"/>.</param>
    /// <exception cref="Confluent.Kafka.KafkaException">librdkafka refused.</exception>
    public void SetPartitionLeader(string topic, int partition, int brokerId)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        CheckBrokerId(brokerId);
        lock (_gate)
        {
            Check(LibRdKafka.rd_kafka_mock_partition_set_leader(Cluster(), topic, partition, brokerId),
                $"set the leader of {topic}/{partition} to broker {brokerId}");
        }
    }

    /// <summary>
    /// Delays every response of <paramref name="brokerId"/> by <paramref name="rtt"/> (requests are still handled on
    /// arrival: a produced record is appended at once, its acknowledgement comes <paramref name="rtt"/> later).
    /// </summary>
    /// <param name="brokerId">Broker id, 1 to <see cref="BrokerCount"/>.</param>
    /// <param name="rtt">The delay; zero removes it.</param>
    public void SetBrokerRtt(int brokerId, TimeSpan rtt)
    {
        CheckBrokerId(brokerId);
        ArgumentOutOfRangeException.ThrowIfLessThan(rtt, TimeSpan.Zero);
        lock (_gate)
        {
            Check(LibRdKafka.rd_kafka_mock_broker_set_rtt(Cluster(), brokerId, (int)rtt.TotalMilliseconds),
                $"set the round-trip time of broker {brokerId}");
        }
    }
}
