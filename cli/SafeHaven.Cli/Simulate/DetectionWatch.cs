using Confluent.Kafka;
using SafeHaven.Core;
using SafeHaven.Core.Simulation;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;

namespace SafeHaven.Cli.Simulate;

/// <summary>
/// Reads the detections of the simulated hot entities (hosts of this fleet, hot pids) and times each from its sample's
/// window end to its arrival here: the end-to-end latency of the detect hop and both Kafka hops, on one clock.
/// </summary>
internal sealed class DetectionWatch(KafkaClients kafka, string hostPrefix, TimeProvider time)
{
    private readonly object _gate = new();
    private readonly List<double> _latenciesMs = [];
    private readonly HashSet<(string Host, int Pid)> _detected = [];
    private readonly Dictionary<(string Host, int Pid, string Rule, long WindowNs), string> _ids = [];
    private long _duplicates, _conflicts, _undecodable;

    /// <summary>Reads until <paramref name="ct"/> is cancelled; blocking (run it on a thread of its own).</summary>
    public void Run(CancellationToken ct)
    {
        var config = kafka.Consumer("safehaven-simulate-" + Guid.NewGuid().ToString("N")[..12], "safehaven-simulate");
        config.EnableAutoCommit = false;
        // Only what this run causes: a cluster may hold detections of earlier runs.
        config.AutoOffsetReset = AutoOffsetReset.Latest;
        using var consumer = new ConsumerBuilder<string, byte[]>(config).Build();
        var deserializer = kafka.Serdes.Deserializer<Detection>();
        consumer.Subscribe(kafka.Topics.Detections);
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var cr = consumer.Consume(TimeSpan.FromMilliseconds(100));
                if (cr?.Message is null)
                {
                    continue;
                }
                var arrivedNs = time.NowNs();
                try
                {
                    Seen(KafkaSerdes.Decode(deserializer, cr.Message.Value, cr.Topic), arrivedNs);
                }
                catch (AvroDecodeException)
                {
                    Interlocked.Increment(ref _undecodable);
                }
            }
        }
        finally
        {
            consumer.Close();
        }
    }

    private void Seen(Detection d, long arrivedNs)
    {
        if (d.kind != DetectionKinds.Detected || d.entity.pid is not { } pid || pid < FleetModel.HotPid(0)
            || !d.entity.host.StartsWith(hostPrefix, StringComparison.Ordinal))
        {
            return;
        }
        lock (_gate)
        {
            var window = (d.entity.host, pid, d.rule, d.detectedAtNs);
            if (_ids.TryGetValue(window, out var id))
            {
                // A window processed twice (a detector's partitions taken over): the same id is a duplicate the planner
                // ignores; another id for the same window would be a second detection.
                if (id == d.detectionId)
                {
                    _duplicates++;
                }
                else
                {
                    _conflicts++;
                }
                return;
            }
            _ids[window] = d.detectionId;
            _detected.Add((d.entity.host, pid));
            _latenciesMs.Add((arrivedNs - d.detectedAtNs) / 1e6);
        }
    }

    /// <summary>What was seen so far.</summary>
    public WatchSummary Summary()
    {
        lock (_gate)
        {
            var sorted = _latenciesMs.Order().ToArray();
            double At(double q) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
            return new WatchSummary(sorted.Length, _detected.Count, _duplicates, _conflicts,
                Interlocked.Read(ref _undecodable), At(0.5), At(0.99), sorted.Length == 0 ? double.NaN : sorted[^1]);
        }
    }
}

/// <summary>Detections of hot entities: windows detected, distinct entities, re-deliveries, conflicting ids, latency quantiles (ms).</summary>
internal sealed record WatchSummary(int Detections, int Entities, long Duplicates, long Conflicts, long Undecodable, double P50Ms, double P99Ms, double MaxMs);
