using Microsoft.Extensions.Logging;
using SafeHaven.Core.Bounds;
using SafeHaven.Core.Detector;
using SafeHaven.Core.Samples;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.Mock;
using Streamiz.Kafka.Net.SerDes;
using SafeHaven.Core;

namespace SafeHaven.StreamProcessors.Detection;

/// <summary>
/// Runs the detector topology once, in memory, on a synthetic storm, before the real stream starts. Quiet samples
/// keep the decoding and evaluating code warm, but the path of a firing sample runs for the first time at the first
/// detection of a process: the rule state's first write (and its changelog record), the detection's construction and
/// seal (an Ed25519 signature), and Streamiz's filter, map and sink down to its record collector. That first run paid
/// ≈7 ms of JIT inside the detector hop (docs/PERFORMANCE.md). Here it is paid at start, through Streamiz's own
/// <see cref="TopologyTestDriver"/>: the same topology code, with no broker and nothing written anywhere.
/// </summary>
public static class DetectorWarmUp
{
    /// <summary>Host (and datacenter) name of the synthetic samples.</summary>
    public const string Host = "warm-up";

    /// <summary>
    /// Fires the first rule of <paramref name="engine"/> that a few samples can fire, through a scratch copy of the
    /// topology with its own store, and returns how many detections it made (0 when no rule can fire: nothing to warm).
    /// The engine is pure (its state lives in the store), so the real detector's state is untouched.
    /// </summary>
    /// <param name="engine">The detector's engine (its rules).</param>
    /// <param name="serdes">The deployment's serdes; with a schema registry nothing is run (a registry would be called).</param>
    /// <param name="detectorKey">The detector's signer of detections, or null.</param>
    /// <param name="loggers">Streamiz's logger factory for the scratch run (it must outlive the run).</param>
    public static long Run(DetectorEngine engine, KafkaSerdes serdes, SafeHaven.Security.RecordSigner? detectorKey, ILoggerFactory? loggers = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(serdes);
        if (serdes.UsesRegistry || Storm(engine) is not { } storm)
        {
            return 0;
        }
        var topics = new TopicNames();
        var metrics = new DetectorMetrics();
        // Samples are not checked here (they carry no probe seal); detections are sealed as the real ones are.
        var seals = new RoleSeals { Detector = detectorKey };
        var config = new StreamConfig<StringSerDes, ByteArraySerDes> { ApplicationId = "safehaven-detector-warm-up" };
        if (loggers is not null)
        {
            // Streamiz's default logs to the console: stdout must stay machine-readable (demo --json). Set before the
            // topology is built: its builder asks Streamiz's static logger, which still holds the last config's factory.
            config.Logger = loggers;
        }
        var topology = DetectorTopology.Build(topics, engine, serdes, TimeProvider.System, metrics, RecordBounds.Replay, seals);
        using var driver = new TopologyTestDriver(topology, config);
        var input = driver.CreateInputTopic<string, byte[], StringSerDes, ByteArraySerDes>(topics.Samples);
        var codec = new SingleObjectCodec<SampleBatch>();
        foreach (var sample in storm)
        {
            input.PipeInput(Host, codec.Encode(SampleBatches.From([sample])));
        }
        return metrics.Detections;
    }

    /// <summary>
    /// Samples of one synthetic process, one per second ending now, above the threshold of the first rule whose
    /// sustain is at most 10, as many as it needs to fire; null when there is no such rule.
    /// </summary>
    internal static List<CounterSample>? Storm(DetectorEngine engine)
    {
        var rule = engine.Rules.Rules.FirstOrDefault(r => r.Sustain <= 10 && r.Threshold < 1e15);
        if (rule is null)
        {
            return null;
        }
        const long second = 1_000_000_000;
        var count = (long)Math.Max(1, Math.Ceiling(rule.Threshold * 2) + 1);
        var now = TimeProvider.System.NowNs();
        var entity = new EntityRef { datacenter = Host, host = Host, pid = 2, comm = Host };
        return [.. Enumerable.Range(0, Math.Max(1, rule.Sustain)).Select(i => new CounterSample
        {
            host = Host,
            entity = entity,
            values = new Dictionary<string, long> { [rule.Counter] = count },
            intervalNs = second,
            timestampNs = now - ((rule.Sustain - 1 - i) * second),
            seq = i,
        })];
    }
}
