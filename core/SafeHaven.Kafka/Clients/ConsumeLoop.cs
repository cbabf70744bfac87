using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using SafeHaven.Kafka.DeadLetters;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;

namespace SafeHaven.Kafka.Clients;

/// <summary>
/// The blocking consume loop every role shares: consume, hand each record to a handler, send
/// records whose Avro does not decode (or whose handling throws) to the dead-letter topic with
/// the reason and go on, stop
/// on cancellation or a fatal error, and always close the consumer (leave the group cleanly).
/// </summary>
public static partial class ConsumeLoop
{
    /// <summary>
    /// Starts <paramref name="run"/>, a blocking loop, on a thread of its own rather than a pool thread. A blocking
    /// <c>Consume</c> holds its thread for the loop's lifetime: with a few such loops on 2 cores the pool starves,
    /// and every continuation in the process (a QMP reply, a migration's events) waits 0.5–1 s for the pool to grow.
    /// </summary>
    public static Task OnOwnThread(Action run, CancellationToken ct) =>
        Task.Factory.StartNew(run, ct, TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach, TaskScheduler.Default);

    /// <summary>Runs <paramref name="read"/>, a blocking read that returns what it read, on a thread of its own (see the other overload).</summary>
    public static Task<T> OnOwnThread<T>(Func<T> read, CancellationToken ct) =>
        Task.Factory.StartNew(read, ct, TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach, TaskScheduler.Default);

    /// <summary>Runs until <paramref name="ct"/> is cancelled; returns normally on cancellation.</summary>
    /// <exception cref="KafkaException">A fatal client error.</exception>
    public static void Run(IConsumer<string, byte[]> consumer, IProducer<string, byte[]> producer, KafkaClients kafka,
        string component, TimeProvider time, ILogger logger, Action<ConsumeResult<string, byte[]>> handle, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(consumer);
        ArgumentNullException.ThrowIfNull(producer);
        ArgumentNullException.ThrowIfNull(kafka);
        ArgumentNullException.ThrowIfNull(handle);
        var lost = new LogStartWatch(component, logger);
        var watch = Telemetry.ConsumerWatch.Register(component, consumer);
        try
        {
            FaultInjection.ThrowIfInjected(component);
            while (!ct.IsCancellationRequested)
            {
                ConsumeResult<string, byte[]> cr;
                try
                {
                    cr = consumer.Consume(ct);
                }
                catch (ConsumeException e) when (!e.Error.IsFatal)
                {
                    LogConsumeError(logger, component, e.Error.Reason);
                    continue;
                }
                if (cr?.Message is null)
                {
                    continue;
                }
                lost.Observe(consumer, cr);
                try
                {
                    handle(cr);
                }
                catch (Exception e) when (e is not (OperationCanceledException or OutOfMemoryException))
                {
                    // Undecodable or unprocessable alike: the record goes to the dead-letter topic
                    // with the reason and the service keeps consuming instead of dying on it.
                    DeadLetter(producer, kafka, cr, e, component, time, logger);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            watch.Dispose();
            producer.Flush(TimeSpan.FromSeconds(5));
            consumer.Close();
        }
    }

    /// <summary>
    /// Sends a record whose handling threw <paramref name="error"/> to the dead-letter topic, with the reason. Never throws:
    /// this is the error path of every consume loop, and a dead letter that cannot be built or produced must not stop
    /// the role. The bytes kept are bounded (<see cref="DeadLetters.DeadLetters.MaxValueBytes"/>), so a record of any
    /// size the broker accepted yields a dead letter the broker accepts too. Failures are logged and counted
    /// (<see cref="DeadLetterMetrics"/>).
    /// </summary>
    /// <returns>True when the dead letter was handed to the producer (its delivery is counted when it fails).</returns>
    /// <param name="producer">The producer.</param>
    /// <param name="kafka">Clients of the deployment (topics, serializers).</param>
    /// <param name="cr">The record that could not be handled.</param>
    /// <param name="error">Why.</param>
    /// <param name="component">The role, for logs and metrics.</param>
    /// <param name="time">Clock of the dead letter.</param>
    /// <param name="logger">Where the dead letter is logged.</param>
    /// <param name="acks">Counts the dead letter until its delivery report, for a caller that commits the input only after
    /// it (a failed delivery is still only logged and counted); null for none.</param>
    public static bool DeadLetter(IProducer<string, byte[]> producer, KafkaClients kafka, ConsumeResult<string, byte[]> cr, Exception error,
        string component, TimeProvider time, ILogger logger, Acknowledgements? acks = null)
    {
        ArgumentNullException.ThrowIfNull(error);
        var reason = error is AvroDecodeException or RecordRejectedException ? error.Message : $"{error.GetType().Name}: {error.Message}";
        return DeadLetter(producer, kafka, cr, reason, component, time, logger, acks);
    }

    /// <summary>Sends a record rejected for <paramref name="reason"/> to the dead-letter topic; never throws (see the other overload).</summary>
    public static bool DeadLetter(IProducer<string, byte[]> producer, KafkaClients kafka, ConsumeResult<string, byte[]> cr, string reason,
        string component, TimeProvider time, ILogger logger, Acknowledgements? acks = null)
    {
        ArgumentNullException.ThrowIfNull(producer);
        ArgumentNullException.ThrowIfNull(kafka);
        ArgumentNullException.ThrowIfNull(cr);
        ArgumentNullException.ThrowIfNull(reason);
        var (topic, partition, offset) = (cr.Topic, cr.Partition.Value, cr.Offset.Value);
        try
        {
            var key = cr.Message.Key;
            var dead = DeadLetters.DeadLetters.Create(topic, partition, offset, key is null ? null : Encoding.UTF8.GetBytes(key),
                cr.Message.Value, reason, component, time);
            var dlq = kafka.Topics.Dlq;
            var message = new Message<string, byte[]>
            {
                Key = DeadLetters.DeadLetters.Key(key),
                Value = kafka.Serdes.Serializer<DeadLetter>().Serialize(dead, new SerializationContext(MessageComponentType.Value, dlq)),
            };
            Action<DeliveryReport<string, byte[]>> delivered = report =>
            {
                if (report.Error.IsError)
                {
                    DeadLetterMetrics.CountFailed(component, topic);
                    LogDeadLetterLost(logger, component, topic, partition, offset, report.Error.Reason);
                }
            };
            if (acks is null)
            {
                producer.Produce(dlq, message, delivered);
            }
            else
            {
                acks.Produce(producer, new TopicPartition(dlq, Partition.Any), message, delivered);
            }
            DeadLetterMetrics.CountSent(component, topic, reason);
            LogDeadLetter(logger, component, topic, partition, offset, dead.reason);
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            DeadLetterMetrics.CountFailed(component, topic);
            LogDeadLetterLost(logger, component, topic, partition, offset, $"{e.GetType().Name}: {e.Message}");
            return false;
        }
    }

    /// <summary>Produces an Avro record with the deployment's serializer.</summary>
    /// <param name="producer">The producer.</param>
    /// <param name="serializer">The value's serializer.</param>
    /// <param name="topic">The topic.</param>
    /// <param name="key">The record key.</param>
    /// <param name="value">The record.</param>
    /// <param name="onDelivery">Delivery callback, or null.</param>
    /// <param name="seal">The role's signer and the record kind it seals (docs/SECURITY.md); null leaves the record unsealed.</param>
    /// <param name="acks">Counts the record until its delivery report, so the caller can wait for exactly its own records
    /// (<see cref="Acknowledgements.Wait"/>) instead of flushing; null for none.</param>
    /// <remarks>Under a current <see cref="System.Diagnostics.Activity"/> the record carries its W3C trace context
    /// (<see cref="Tracing.TraceHeaders"/>).</remarks>
    public static void Produce<T>(IProducer<string, byte[]> producer, Confluent.Kafka.ISerializer<T> serializer, string topic, string key, T value,
        Action<DeliveryReport<string, byte[]>>? onDelivery = null, (SafeHaven.Security.RecordSigner Signer, string Kind)? seal = null,
        Acknowledgements? acks = null)
    {
        ArgumentNullException.ThrowIfNull(producer);
        ArgumentNullException.ThrowIfNull(serializer);
        var message = new Message<string, byte[]>
        {
            Key = key,
            Value = serializer.Serialize(value, new SerializationContext(MessageComponentType.Value, topic)),
        };
        if (seal is { } s)
        {
            message.Headers = Seals.Headers(s.Signer, s.Kind, key, message.Value);
        }
        if (System.Diagnostics.Activity.Current is { } span)
        {
            // The span in hand continues in whoever reads the record (docs/DESIGN.md §4); outside the seal.
            Tracing.TraceHeaders.Inject(span, message.Headers ??= []);
        }
        if (acks is null)
        {
            producer.Produce(topic, message, onDelivery);
        }
        else
        {
            acks.Produce(producer, new TopicPartition(topic, Partition.Any), message, onDelivery);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Component}: consume error {Error}")]
    private static partial void LogConsumeError(ILogger logger, string component, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Component}: dead-lettered {Topic}/{Partition}@{Offset}: {Reason}")]
    private static partial void LogDeadLetter(ILogger logger, string component, string topic, int partition, long offset, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Component}: could not dead-letter {Topic}/{Partition}@{Offset} (skipped, going on): {Error}")]
    private static partial void LogDeadLetterLost(ILogger logger, string component, string topic, int partition, long offset, string error);
}
