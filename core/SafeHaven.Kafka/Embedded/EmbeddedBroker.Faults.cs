using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace SafeHaven.Kafka.Embedded;

// Faults a real cluster shows and the mock can be told to show: for tests of what a role does when the broker refuses it.
public sealed partial class EmbeddedBroker
{
    /// <summary>
    /// Makes the next request of <paramref name="apiKey"/> that broker <paramref name="brokerId"/> receives fail with
    /// <paramref name="error"/>; requests to other brokers are not affected. With the partitions of one topic led by a
    /// broker of their own (<see cref="SetPartitionLeader"/>), this refuses writes to that topic alone, e.g. a Produce
    /// answered <see cref="ErrorCode.TopicAuthorizationFailed"/> as when an ACL stops a client writing a topic.
    /// </summary>
    /// <param name="brokerId">Broker id, 1 to <see cref="BrokerCount"/>.</param>
    /// <param name="apiKey">Kafka protocol API key, e.g. 0 for Produce.</param>
    /// <param name="error">The error of that one request.</param>
    /// <exception cref="PlatformNotSupportedException">Not on Linux x86-64 (librdkafka's function is variadic).</exception>
    public void PushBrokerRequestError(int brokerId, short apiKey, ErrorCode error)
    {
        CheckBrokerId(brokerId);
        ArgumentOutOfRangeException.ThrowIfNegative(apiKey);
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            throw new PlatformNotSupportedException("per-broker request errors call a variadic librdkafka function: supported on Linux x86-64 only");
        }
        lock (_gate)
        {
            Check(LibRdKafka.rd_kafka_mock_broker_push_request_error_rtts(Cluster(), brokerId, apiKey, 1, (int)error, 0),
                $"push a request error to broker {brokerId}");
        }
    }
}
