using System.Runtime.InteropServices;

namespace SafeHaven.Kafka.Embedded;

/// <summary>
/// The few librdkafka entry points the embedded broker needs. They must bind to the very
/// library instance Confluent.Kafka loaded: a second copy would have its own globals, and
/// the default <c>librdkafka.so</c> cannot even load here (no libsasl2), so
/// <see cref="NativeLoader"/> points this assembly's imports at the mapped file.
/// </summary>
internal static unsafe partial class LibRdKafka
{
    internal const string Name = "librdkafka";

    internal const int ProducerType = 0;
    internal const int ConfOk = 0;

    [LibraryImport(Name)]
    internal static partial IntPtr rd_kafka_conf_new();

    [LibraryImport(Name)]
    internal static partial void rd_kafka_conf_destroy(IntPtr conf);

    [LibraryImport(Name, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int rd_kafka_conf_set(IntPtr conf, string name, string value, byte* errstr, nuint errstrSize);

    [LibraryImport(Name)]
    internal static partial IntPtr rd_kafka_new(int type, IntPtr conf, byte* errstr, nuint errstrSize);

    [LibraryImport(Name)]
    internal static partial void rd_kafka_destroy(IntPtr rk);

    [LibraryImport(Name)]
    internal static partial IntPtr rd_kafka_err2str(int err);

    [LibraryImport(Name)]
    internal static partial IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokerCount);

    [LibraryImport(Name)]
    internal static partial void rd_kafka_mock_cluster_destroy(IntPtr mcluster);

    [LibraryImport(Name)]
    internal static partial IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr mcluster);

    [LibraryImport(Name)]
    internal static partial void rd_kafka_mock_group_initial_rebalance_delay_ms(IntPtr mcluster, int delayMs);

    [LibraryImport(Name, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int rd_kafka_mock_topic_create(IntPtr mcluster, string topic, int partitionCount, int replicationFactor);

    [LibraryImport(Name)]
    internal static partial int rd_kafka_mock_broker_set_down(IntPtr mcluster, int brokerId);

    [LibraryImport(Name)]
    internal static partial int rd_kafka_mock_broker_set_up(IntPtr mcluster, int brokerId);

    [LibraryImport(Name, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int rd_kafka_mock_partition_set_leader(IntPtr mcluster, string topic, int partition, int brokerId);

    [LibraryImport(Name)]
    internal static partial int rd_kafka_mock_broker_set_rtt(IntPtr mcluster, int brokerId, int rttMs);

    // Variadic in C: (mcluster, broker_id, ApiKey, cnt, err1, rtt1, err2, rtt2, …). Declared for one (err, rtt) pair, so
    // every argument is one of the six integer registers of the x86-64 System V convention, where a variadic callee
    // reads them exactly as a fixed-arity one does. Call it only there (EmbeddedBroker checks).
    [LibraryImport(Name)]
    internal static partial int rd_kafka_mock_broker_push_request_error_rtts(IntPtr mcluster, int brokerId, short apiKey, nuint count, int err, int rttMs);

    // The plain rd_kafka_mock_push_request_errors is variadic, which P/Invoke cannot call portably.
    [LibraryImport(Name)]
    internal static partial void rd_kafka_mock_push_request_errors_array(IntPtr mcluster, short apiKey, nuint count, int* errors);

    internal static string ErrorString(int err) =>
        Marshal.PtrToStringUTF8(rd_kafka_err2str(err)) ?? $"librdkafka error {err}";
}
