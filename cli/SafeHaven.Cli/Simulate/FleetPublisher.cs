using System.Diagnostics;
using Confluent.Kafka;
using SafeHaven.Core.Simulation;
using SafeHaven.Kafka.Clients;
using SafeHaven.Schemas;
using SafeHaven.Security;
using SafeHaven.Core;

namespace SafeHaven.Cli.Simulate;

/// <summary>
/// Publishes a <see cref="FleetModel"/> to the samples topic as its probes would: one sealed batch per host per period,
/// keyed by host, the hosts' publications spread evenly over the period (probes are not synchronised).
/// </summary>
internal sealed class FleetPublisher : IDisposable
{
    private readonly FleetModel _fleet;
    private readonly KafkaClients _kafka;
    private readonly RecordSigner?[] _seals;
    private readonly IProducer<string, byte[]> _producer;
    private readonly ISerializer<SampleBatch> _serializer;
    private readonly TimeProvider _time;
    private long _batches, _samples, _bytes, _failed, _behindMaxMs;

    /// <summary>A publisher of <paramref name="fleet"/>; <paramref name="sealFor"/> gives each host's MAC sealer (null: unsealed).</summary>
    public FleetPublisher(FleetModel fleet, KafkaClients kafka, Func<int, RecordSigner?> sealFor, TimeProvider time)
    {
        _fleet = fleet;
        _kafka = kafka;
        _time = time;
        _seals = [.. Enumerable.Range(0, fleet.Spec.Hosts).Select(sealFor)];
        var config = kafka.Producer("safehaven-simulate");
        // Throughput over latency on the embedded broker: it returns one producer batch per partition per fetch.
        config.LingerMs = 5;
        config.QueueBufferingMaxMessages = 1_000_000;
        config.QueueBufferingMaxKbytes = 1_048_576;
        _producer = new ProducerBuilder<string, byte[]>(config).Build();
        _serializer = kafka.Serdes.Serializer<SampleBatch>();
    }

    /// <summary>Batches, samples and value bytes handed to the broker and acknowledged, and deliveries that failed.</summary>
    public (long Batches, long Samples, long Bytes, long Failed) Delivered =>
        (Interlocked.Read(ref _batches), Interlocked.Read(ref _samples), Interlocked.Read(ref _bytes), Interlocked.Read(ref _failed));

    /// <summary>The furthest the publisher fell behind its schedule, ms (0 while it keeps up).</summary>
    public long BehindMaxMs => Interlocked.Read(ref _behindMaxMs);

    /// <summary>Publishes tick after tick until <paramref name="ct"/> is cancelled; blocking (run it on a thread of its own).</summary>
    public void Run(CancellationToken ct)
    {
        var hosts = _fleet.Spec.Hosts;
        var period = _fleet.Spec.Period;
        var start = Stopwatch.GetTimestamp();
        for (long tick = 0; !ct.IsCancellationRequested; tick++)
        {
            for (var i = 0; i < hosts && !ct.IsCancellationRequested; i++)
            {
                var due = period * tick + period * i / hosts;
                var wait = due - Stopwatch.GetElapsedTime(start);
                if (wait > TimeSpan.FromMilliseconds(1))
                {
                    ct.WaitHandle.WaitOne(wait);
                }
                else if (-wait.TotalMilliseconds > Interlocked.Read(ref _behindMaxMs))
                {
                    Interlocked.Exchange(ref _behindMaxMs, (long)-wait.TotalMilliseconds);
                }
                Publish(i, tick);
            }
        }
    }

    private void Publish(int host, long tick)
    {
        var endNs = _time.NowNs();
        var batch = _fleet.Batch(host, tick, endNs);
        var count = batch.samples.Count;
        var topic = _kafka.Topics.Samples;
        while (true)
        {
            try
            {
                long size = 0;
                ConsumeLoop.Produce(_producer, new Measured(_serializer, v => size = v), topic, batch.host, batch, report =>
                {
                    if (report.Error.IsError)
                    {
                        Interlocked.Increment(ref _failed);
                        return;
                    }
                    Interlocked.Increment(ref _batches);
                    Interlocked.Add(ref _samples, count);
                    Interlocked.Add(ref _bytes, size);
                }, RoleSeals.With(_seals[host], Seals.Kinds.Samples));
                return;
            }
            catch (ProduceException<string, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                // The broker is slower than the fleet: wait for room rather than drop (the summary shows the lag).
                _producer.Poll(TimeSpan.FromMilliseconds(10));
            }
        }
    }

    /// <summary>Waits up to <paramref name="timeout"/> for every batch to be acknowledged.</summary>
    public void Flush(TimeSpan timeout) => _producer.Flush(timeout);

    public void Dispose()
    {
        _producer.Dispose();
        foreach (var seal in _seals)
        {
            seal?.Dispose();
        }
    }

    private sealed class Measured(ISerializer<SampleBatch> inner, Action<long> size) : ISerializer<SampleBatch>
    {
        public byte[] Serialize(SampleBatch data, SerializationContext context)
        {
            var bytes = inner.Serialize(data, context);
            size(bytes.Length);
            return bytes;
        }
    }
}
