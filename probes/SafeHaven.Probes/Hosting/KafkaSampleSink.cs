using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SafeHaven.Core.Samples;
using SafeHaven.Kafka.Clients;
using SafeHaven.Probes.Hosting.Delivery;
using SafeHaven.Schemas;

namespace SafeHaven.Probes.Hosting;

/// <summary>
/// Publishes samples to <c>safehaven.samples</c>, keyed by host id, through an idempotent
/// producer: one <see cref="SampleBatch"/> record per sampling tick (docs/SAMPLES.md), or several
/// when the tick is larger than <see cref="MaxSamplesPerRecord"/> or the in-flight window is full.
/// <see cref="Publish"/> only appends to a bounded ring and returns: a sender thread
/// serialises samples and hands them to librdkafka, keeping at most a fixed number in flight
/// there, so while the broker is unreachable the ring fills and then drops its oldest samples.
/// Every lost sample is counted in the <see cref="ProbeMetrics.SamplesDroppedName"/> metric and
/// in the <c>droppedSamples</c> of the next sample handed to the producer, and logged as a
/// warning at most once per 10 s with the count since the previous warning.
/// </summary>
/// <remarks>
/// The sink takes ownership of published samples: it sets their <c>droppedSamples</c>.
/// Samples already in flight stay in librdkafka (retried until its <c>message.timeout.ms</c>,
/// then counted as dropped); the drop-oldest policy applies to the ring.
/// </remarks>
public sealed class KafkaSampleSink : ISampleSink, IDisposable
{
    /// <summary>Most samples handed to librdkafka and not yet acknowledged (fewer when the ring is smaller).</summary>
    public const int DefaultMaxInFlight = 1000;

    /// <summary>Most samples in one record (about 30–60 bytes each, far below Kafka's 1 MB message limit).</summary>
    public const int MaxSamplesPerRecord = 5000;

    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(5);

    private readonly RoleSeals _seals;
    private readonly DeliveryWindow<QueuedSample> _window;
    private readonly IProducer<string, byte[]> _producer;
    private readonly ISerializer<SampleBatch> _serializer;
    private readonly string _topic;
    private readonly string _clientId;
    private readonly Thread _sender;
    private readonly DropWarnings _dropWarnings;
    private readonly IDisposable _health;
    private bool _closed;
    private long _ticks;

    /// <summary>Creates the sink with its own idempotent producer and a ring of <see cref="ProbeOptions.DefaultBufferSamples"/>.</summary>
    public KafkaSampleSink(KafkaClients kafka, string clientId)
        : this(kafka, clientId, ProbeOptions.DefaultBufferSamples)
    {
    }

    /// <summary>Creates the sink with its own idempotent producer.</summary>
    /// <param name="kafka">The deployment's Kafka settings.</param>
    /// <param name="clientId">Kafka client id, also the <see cref="ProbeMetrics.ClientIdTag"/> of its metrics.</param>
    /// <param name="bufferSamples">Samples the ring holds while the broker is unreachable, at least 1.</param>
    public KafkaSampleSink(KafkaClients kafka, string clientId, int bufferSamples)
        : this(kafka, clientId, bufferSamples, logger: null)
    {
    }

    /// <summary>Creates the sink with its own idempotent producer, warning about dropped samples on <paramref name="logger"/>.</summary>
    /// <param name="kafka">The deployment's Kafka settings.</param>
    /// <param name="clientId">Kafka client id, also the <see cref="ProbeMetrics.ClientIdTag"/> of its metrics.</param>
    /// <param name="bufferSamples">Samples the ring holds while the broker is unreachable, at least 1.</param>
    /// <param name="logger">Where drops are warned about (at most once per 10 s); null for none.</param>
    /// <param name="time">The clock of that rate limit; <see cref="TimeProvider.System"/> when null.</param>
    public KafkaSampleSink(KafkaClients kafka, string clientId, int bufferSamples, ILogger? logger, TimeProvider? time = null)
        : this(kafka, clientId, bufferSamples, Math.Min(bufferSamples, DefaultMaxInFlight), configure: null, logger, time)
    {
    }

    /// <summary>Tests shrink the in-flight window and the producer's timeouts and backoffs.</summary>
    internal KafkaSampleSink(KafkaClients kafka, string clientId, int bufferSamples, int maxInFlight, Action<ProducerConfig>? configure,
        ILogger? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(kafka);
        ArgumentException.ThrowIfNullOrEmpty(clientId);
        _dropWarnings = new DropWarnings(logger ?? NullLogger.Instance, time ?? TimeProvider.System, clientId, DropWarnings.DefaultInterval);
        _window = new DeliveryWindow<QueuedSample>(bufferSamples, maxInFlight);
        _serializer = kafka.Serdes.Serializer<SampleBatch>();
        _topic = kafka.Topics.Samples;
        _seals = kafka.Seals;
        _clientId = clientId;
        var config = kafka.Producer(clientId);
        config.LingerMs = kafka.Options.SampleLingerMs;
        configure?.Invoke(config);
        _producer = new ProducerBuilder<string, byte[]>(config).Build();
        _sender = new Thread(Send) { IsBackground = true, Name = "safehaven-probe-sender" };
        _sender.Start();
        _health = Kafka.Telemetry.RoleHealth.Register("probe", () => Delivered > 0 ? null : "no sample delivered to the broker yet");
    }

    /// <summary>Samples waiting in the ring.</summary>
    public int Buffered => _window.Buffered;

    /// <summary>Samples handed to librdkafka whose delivery report has not come back yet.</summary>
    public int InFlight => _window.InFlight;

    /// <summary>Samples the broker acknowledged.</summary>
    public long Delivered => _window.Delivered;

    /// <summary>Samples lost for good: pushed out of a full ring, failed delivery, or left at shutdown.</summary>
    public long Dropped => _window.Dropped;

    /// <summary>Appends <paramref name="sample"/> to the ring and returns at once, whatever the broker does.</summary>
    /// <exception cref="ObjectDisposedException">The sink is closed.</exception>
    public void Publish(CounterSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _closed), this);
        if (_window.Enqueue(new QueuedSample(sample, Interlocked.Increment(ref _ticks))))
        {
            RecordDropped(1, ProbeMetrics.BufferFull);
        }
    }

    /// <summary>Appends one tick's samples to the ring at once (they leave as one record) and returns.</summary>
    /// <exception cref="ObjectDisposedException">The sink is closed.</exception>
    public void PublishTick(IReadOnlyList<CounterSample> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _closed), this);
        var tick = Interlocked.Increment(ref _ticks);
        if (_window.EnqueueAll(samples.Select(s => new QueuedSample(s, tick))) is > 0 and var dropped)
        {
            RecordDropped(dropped, ProbeMetrics.BufferFull);
        }
    }

    /// <summary>Waits up to <paramref name="timeout"/> until every published sample is delivered or dropped.</summary>
    /// <returns>True when nothing is left in the ring or in flight.</returns>
    public bool Flush(TimeSpan timeout) => _window.WaitDrained(timeout);

    /// <summary>Stops accepting samples and delivers what it can within 5 s; the rest is counted as dropped.</summary>
    public void Dispose() => Close(CloseTimeout);

    /// <summary>
    /// Stops accepting samples and keeps sending until the ring is empty and librdkafka holds no
    /// message, or until <paramref name="timeout"/>; then disposes the producer and counts what
    /// was left (buffered or unacknowledged) as dropped. Later calls do nothing and return false.
    /// </summary>
    /// <returns>True when every published sample was delivered or dropped before the deadline.</returns>
    public bool Close(TimeSpan timeout)
    {
        long start = Stopwatch.GetTimestamp();
        Volatile.Write(ref _closed, true);
        _health.Dispose();
        if (!_window.Stop(start + (long)(Math.Max(0, timeout.TotalSeconds) * Stopwatch.Frequency)))
        {
            return false;
        }
        // The sender leaves by the deadline on its own: while stopping it waits with a timeout.
        _sender.Join();
        var left = timeout - Stopwatch.GetElapsedTime(start);
        bool complete = _producer.Flush(left > TimeSpan.Zero ? left : TimeSpan.Zero) == 0;
        // Confluent.Kafka has no purge: disposing drops what librdkafka still holds without
        // delivery reports, so after it the sink counts those samples itself, exactly once.
        _producer.Dispose();
        int abandoned = _window.Abandon();
        RecordDropped(abandoned, ProbeMetrics.Shutdown);
        // The last warning names whatever the rate limit still held.
        _dropWarnings.Dispose();
        return complete && abandoned == 0;
    }

    private void Send()
    {
        var run = new List<QueuedSample>();
        // Neighbours of one tick with consecutive seq: exactly what a SampleBatch can carry.
        static bool Together(QueuedSample a, QueuedSample b) => a.Tick == b.Tick && b.Sample.seq == a.Sample.seq + 1;
        while (_window.TryNextRun(run, Together, MaxSamplesPerRecord, out long carried))
        {
            int count = run.Count;
            try
            {
                run[0].Sample.droppedSamples = carried;
                var batch = SampleBatches.From(run.ConvertAll(q => q.Sample), carried);
                // The root of a move's trace (docs/OPERATIONS.md, "Traces"); null and free when nothing listens.
                using var span = SafeHaven.Kafka.Tracing.SafeHavenActivity.StartProducer(SafeHaven.Kafka.Tracing.SafeHavenActivity.Probe, SafeHaven.Kafka.Tracing.SafeHavenActivity.SamplesPublish);
                span?.SetTag("safehaven.host", batch.host).SetTag("safehaven.samples", count);
                // One seal per batch, a host MAC where enrolled: per host per tick, not per sample (docs/SECURITY.md).
                ConsumeLoop.Produce(_producer, _serializer, _topic, batch.host, batch,
                    report => Completed(report.Error.IsError, carried, count), RoleSeals.With(_seals.Samples, Seals.Kinds.Samples));
            }
#pragma warning disable CA1031 // Any failure (queue full, a registry serializer's I/O) loses this record's samples only; the sender must live on.
            catch (Exception)
#pragma warning restore CA1031
            {
                Completed(failed: true, carried, count);
            }
        }
    }

    /// <summary>A delivery report (on Confluent's poll thread) or a failed hand-over, for the <paramref name="count"/> samples of one record.</summary>
    private void Completed(bool failed, long carried, int count)
    {
        for (var i = 0; i < count; i++)
        {
            _window.Complete(failed, i == 0 ? carried : 0);
        }
        if (failed)
        {
            RecordDropped(count, ProbeMetrics.DeliveryFailed);
        }
        else
        {
            ProbeMetrics.RecordPublished(count, _clientId);
        }
    }

    private void RecordDropped(long count, string reason)
    {
        ProbeMetrics.RecordDropped(count, reason, _clientId);
        _dropWarnings.Add(count, reason);
    }
}

/// <summary>A sample in the ring with the tick it was published in (samples of one tick share one record).</summary>
internal sealed record QueuedSample(CounterSample Sample, long Tick);
