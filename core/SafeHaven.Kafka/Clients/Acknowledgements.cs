using System.Diagnostics;
using Confluent.Kafka;

namespace SafeHaven.Kafka.Clients;

/// <summary>
/// Waits for the broker's acknowledgement (the delivery report) of exactly the records produced through it, instead of
/// <c>IProducer.Flush</c>. Flush costs ≈10 ms per call even for one record already acknowledged: librdkafka's
/// <c>rd_kafka_flush</c> polls the delivery-report queue in 10 ms slices, but Confluent.Kafka's own poll thread serves
/// that queue and takes the report, so the flushing thread sleeps out its slice before it sees nothing is outstanding.
/// A delivery report wakes <see cref="Wait"/> as soon as the poll thread hands it over (≈0.07 ms on the embedded broker).
/// </summary>
/// <remarks>
/// Thread-safe: records are produced on one thread, reports arrive on the producer's poll thread. Failures are not
/// judged here: a record's own handler (the <c>then</c> of <see cref="Track"/>) sees its report, and runs before the
/// record stops counting, so whatever it recorded is visible once <see cref="Wait"/> returns.
/// Unlike <c>Flush</c>, this does not make the producer ignore <c>linger.ms</c>: producers whose records are awaited one
/// by one should linger 0.
/// </remarks>
public sealed class Acknowledgements
{
    // Monitor rather than an event: nothing to dispose when a report arrives after its owner is gone.
    private readonly object _gate = new();
    private int _outstanding;

    /// <summary>Records produced through this tracker whose delivery report has not arrived yet.</summary>
    public int Outstanding
    {
        get
        {
            lock (_gate)
            {
                return _outstanding;
            }
        }
    }

    /// <summary>
    /// Counts one record as outstanding and returns the delivery handler to produce it with. If the producer refuses the
    /// record outright (<c>Produce</c> throws, so no report will come), call <see cref="Forget"/>.
    /// </summary>
    /// <param name="then">The record's own delivery handler, run first; null for none.</param>
    public Action<DeliveryReport<string, byte[]>> Track(Action<DeliveryReport<string, byte[]>>? then = null)
    {
        lock (_gate)
        {
            _outstanding++;
        }
        return report =>
        {
            try
            {
                then?.Invoke(report);
            }
            finally
            {
                Forget();
            }
        };
    }

    /// <summary>Stops counting one record: its report has arrived, or it will never come.</summary>
    public void Forget()
    {
        lock (_gate)
        {
            if (--_outstanding <= 0)
            {
                _outstanding = 0;
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>Produces <paramref name="message"/> and counts it until its delivery report arrives.</summary>
    /// <param name="producer">The producer.</param>
    /// <param name="partition">Topic and partition (<see cref="Partition.Any"/> lets the partitioner choose).</param>
    /// <param name="message">The record.</param>
    /// <param name="then">The record's own delivery handler, or null.</param>
    /// <exception cref="ProduceException{TKey, TValue}">The producer refused the record (not counted).</exception>
    public void Produce(IProducer<string, byte[]> producer, TopicPartition partition, Message<string, byte[]> message,
        Action<DeliveryReport<string, byte[]>>? then = null)
    {
        ArgumentNullException.ThrowIfNull(producer);
        var handler = Track(then);
        try
        {
            producer.Produce(partition, message, handler);
        }
        catch
        {
            Forget();
            throw;
        }
    }

    /// <summary>
    /// Blocks until every record produced through this tracker has its delivery report (acknowledged or failed), like
    /// <c>Flush</c> but woken by the report itself.
    /// </summary>
    /// <param name="timeout">How long to wait at most; <see cref="Timeout.InfiniteTimeSpan"/> waits until the producer
    /// reports every record (it does within <c>message.timeout.ms</c>).</param>
    /// <param name="ct">Cancels the wait; checked at least every 100 ms, as <c>Flush(CancellationToken)</c> does.</param>
    /// <returns>True when nothing is outstanding; false on timeout (the records stay counted).</returns>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled first.</exception>
    public bool Wait(TimeSpan timeout, CancellationToken ct)
    {
        var infinite = timeout == Timeout.InfiniteTimeSpan;
        if (!infinite)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        }
        var started = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            while (_outstanding > 0)
            {
                ct.ThrowIfCancellationRequested();
                var left = infinite ? TimeSpan.MaxValue : timeout - Stopwatch.GetElapsedTime(started);
                if (left <= TimeSpan.Zero)
                {
                    return false;
                }
                // A report pulses at once; the slice only bounds how late a cancellation is seen.
                Monitor.Wait(_gate, left < SliceLimit ? left : SliceLimit);
            }
            return true;
        }
    }

    private static readonly TimeSpan SliceLimit = TimeSpan.FromMilliseconds(100);
}
