using System.Runtime.InteropServices;
using Confluent.Kafka;
using SafeHaven.Kafka.Topics;

namespace SafeHaven.Kafka.Embedded;

/// <summary>
/// An in-process Kafka cluster: librdkafka's mock cluster, listening on real TCP ports of
/// 127.0.0.1, so any Kafka client (Confluent, Streamiz, kcat, ...) can connect to
/// <see cref="BootstrapServers"/>.
/// </summary>
/// <remarks>
/// The mock keeps data in memory only, and each partition keeps at most 5 MiB or 100,000
/// batches, silently dropping older records. It has no CreateTopics, DeleteTopics or
/// DescribeConfigs API: create every topic (including Streamiz changelog and repartition
/// topics) with <see cref="CreateTopic"/> before clients need them, or the mock auto-creates
/// them with its default of 4 partitions on a producer's first metadata request.
/// Topic configs such as <c>cleanup.policy=compact</c> are not supported.
/// Members are thread-safe; <see cref="Dispose"/> waits for a call in progress.
/// </remarks>
public sealed partial class EmbeddedBroker : IDisposable
{
    private const int ErrStrSize = 512;

    private readonly Lock _gate = new();
    private IntPtr _rk;
    private IntPtr _mcluster;

    private EmbeddedBroker(IntPtr rk, IntPtr mcluster, int brokerCount, string bootstrapServers)
    {
        _rk = rk;
        _mcluster = mcluster;
        BrokerCount = brokerCount;
        BootstrapServers = bootstrapServers;
    }

    /// <summary>The comma-separated <c>host:port</c> list that clients use to connect.</summary>
    public string BootstrapServers { get; }

    /// <summary>Number of brokers in the cluster; their ids are 1 to <see cref="BrokerCount"/>.</summary>
    public int BrokerCount { get; }

    /// <summary>Starts a mock cluster of <paramref name="brokers"/> brokers on ephemeral ports.</summary>
    /// <param name="brokers">Number of brokers, at least 1.</param>
    /// <returns>The running cluster; dispose it to stop it.</returns>
    /// <exception cref="KafkaException">librdkafka could not create the cluster.</exception>
    public static unsafe EmbeddedBroker Start(int brokers = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        NativeLoader.EnsureLoaded();

        var errstr = stackalloc byte[ErrStrSize];
        var conf = LibRdKafka.rd_kafka_conf_new();
        // The host handle never connects anywhere; its notices ("no bootstrap.servers") are noise.
        if (LibRdKafka.rd_kafka_conf_set(conf, "log_level", "4", errstr, ErrStrSize) != LibRdKafka.ConfOk)
        {
            LibRdKafka.rd_kafka_conf_destroy(conf);
            throw Failure("rd_kafka_conf_set(log_level)", Marshal.PtrToStringUTF8((IntPtr)errstr));
        }

        // rd_kafka_new takes ownership of conf only when it succeeds.
        var rk = LibRdKafka.rd_kafka_new(LibRdKafka.ProducerType, conf, errstr, ErrStrSize);
        if (rk == IntPtr.Zero)
        {
            LibRdKafka.rd_kafka_conf_destroy(conf);
            throw Failure("rd_kafka_new", Marshal.PtrToStringUTF8((IntPtr)errstr));
        }

        var mcluster = LibRdKafka.rd_kafka_mock_cluster_new(rk, brokers);
        if (mcluster == IntPtr.Zero)
        {
            LibRdKafka.rd_kafka_destroy(rk);
            throw Failure("rd_kafka_mock_cluster_new", "could not create the mock cluster (see the librdkafka log)");
        }

        // Without this the mock holds every first group join for 3 s.
        LibRdKafka.rd_kafka_mock_group_initial_rebalance_delay_ms(mcluster, 0);
        var bootstraps = Marshal.PtrToStringUTF8(LibRdKafka.rd_kafka_mock_cluster_bootstraps(mcluster)) ?? string.Empty;
        return new EmbeddedBroker(rk, mcluster, brokers, bootstraps);
    }

    /// <summary>Creates a topic on the mock cluster.</summary>
    /// <param name="name">Topic name: 1 to 249 characters of <c>[a-zA-Z0-9._-]</c>.</param>
    /// <param name="partitions">Number of partitions, at least 1.</param>
    /// <param name="replicationFactor">Replicas per partition, 1 to <see cref="BrokerCount"/>.</param>
    /// <exception cref="ArgumentException">The name is not a legal Kafka topic name.</exception>
    /// <exception cref="KafkaException">librdkafka refused, e.g. <see cref="ErrorCode.TopicAlreadyExists"/>.</exception>
    public void CreateTopic(string name, int partitions, int replicationFactor = 1)
    {
        TopicNameRules.Validate(name, nameof(name));
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        // The mock silently caps the replication factor at the broker count; refuse instead.
        ArgumentOutOfRangeException.ThrowIfLessThan(replicationFactor, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(replicationFactor, BrokerCount);

        lock (_gate)
        {
            Check(LibRdKafka.rd_kafka_mock_topic_create(Cluster(), name, partitions, replicationFactor), $"create topic '{name}'");
        }
    }

    /// <summary>Takes a broker down: its connections are closed and new ones are refused.</summary>
    /// <param name="brokerId">Broker id, 1 to <see cref="BrokerCount"/>.</param>
    public void SetBrokerDown(int brokerId)
    {
        CheckBrokerId(brokerId);
        lock (_gate)
        {
            Check(LibRdKafka.rd_kafka_mock_broker_set_down(Cluster(), brokerId), $"set broker {brokerId} down");
        }
    }

    /// <summary>Brings a broker back up on the same port.</summary>
    /// <param name="brokerId">Broker id, 1 to <see cref="BrokerCount"/>.</param>
    public void SetBrokerUp(int brokerId)
    {
        CheckBrokerId(brokerId);
        lock (_gate)
        {
            Check(LibRdKafka.rd_kafka_mock_broker_set_up(Cluster(), brokerId), $"set broker {brokerId} up");
        }
    }

    /// <summary>
    /// Makes the next requests of <paramref name="apiKey"/> (from any client, to any broker)
    /// fail with <paramref name="errors"/>, one error per request, in order.
    /// </summary>
    /// <param name="apiKey">Kafka protocol API key, e.g. 0 for Produce, 1 for Fetch.</param>
    /// <param name="errors">Errors to return; <see cref="ErrorCode.NoError"/> lets one request through.</param>
    public unsafe void PushRequestErrors(short apiKey, params ErrorCode[] errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        ArgumentOutOfRangeException.ThrowIfNegative(apiKey);
        if (errors.Length == 0)
        {
            return;
        }

        // ErrorCode mirrors rd_kafka_resp_err_t, a C enum, i.e. a 32-bit int.
        var codes = Array.ConvertAll(errors, e => (int)e);
        lock (_gate)
        {
            var mcluster = Cluster();
            fixed (int* p = codes)
            {
                LibRdKafka.rd_kafka_mock_push_request_errors_array(mcluster, apiKey, (nuint)codes.Length, p);
            }
        }
    }

    /// <summary>Stops the cluster and frees its native handles. Safe to call more than once.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_mcluster == IntPtr.Zero)
            {
                return;
            }

            // The cluster borrows the host handle, so it must go first.
            LibRdKafka.rd_kafka_mock_cluster_destroy(_mcluster);
            LibRdKafka.rd_kafka_destroy(_rk);
            _mcluster = IntPtr.Zero;
            _rk = IntPtr.Zero;
        }
    }

    private IntPtr Cluster()
    {
        ObjectDisposedException.ThrowIf(_mcluster == IntPtr.Zero, this);
        return _mcluster;
    }

    private void CheckBrokerId(int brokerId)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokerId, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(brokerId, BrokerCount);
    }

    private static void Check(int err, string operation)
    {
        if (err != 0)
        {
            throw new KafkaException(new Error((ErrorCode)err, $"Embedded broker: {operation} failed: {LibRdKafka.ErrorString(err)}"));
        }
    }

    private static KafkaException Failure(string operation, string? reason) =>
        new(new Error(ErrorCode.Local_Fail, $"Embedded broker: {operation} failed: {reason}"));
}
