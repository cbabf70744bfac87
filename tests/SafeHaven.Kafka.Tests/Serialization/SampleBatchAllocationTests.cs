using SafeHaven.Core.Bounds;
using SafeHaven.Core.Detector;
using SafeHaven.Core.Rules;
using SafeHaven.Core.Samples;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;

namespace SafeHaven.Kafka.Tests.Serialization;

/// <summary>
/// The detector's per-sample path (decode, validate, bounds, evaluate) allocates nothing for a quiet batch of
/// processes it has seen before, and still sees a change of name and a storm.
/// </summary>
public sealed class SampleBatchAllocationTests
{
    private const string Rules = """
        rules:
          - { name: cs-storm, counter: context-switches, threshold: 2000, scope: core, sustain: 2 }
          - { name: fault-storm, counter: page-faults, threshold: 50000, scope: machine }
        """;

    private readonly SingleObjectCodec<SampleBatch> _codec = new();
    private readonly DetectorEngine _engine = new(RulesParser.Parse(Rules, "r.yaml"));
    private readonly InMemoryRuleStateStore _store = new();
    private readonly SampleBatchDecoder _decoder = new();
    private readonly List<Detection> _detections = [];

    private static SampleBatch Tick(string comm, long contextSwitches, long seq) => SampleBatches.From(
        [.. Enumerable.Range(1, 100).Select(pid => new CounterSample
        {
            host = "h1",
            entity = new EntityRef { datacenter = "dc1", host = "h1", pid = pid, comm = comm, startTime = 1000 + pid },
            values = new Dictionary<string, long> { ["context-switches"] = contextSwitches, ["page-faults"] = 10, ["cpu-migrations"] = 3 },
            intervalNs = 1_000_000_000,
            timestampNs = 1_700_000_000_000_000_000 + (seq * 1_000_000_000) + pid,
            seq = seq + pid - 1,
        })]);

    private int Detect(byte[] bytes)
    {
        _detections.Clear();
        var n = _decoder.Decode(bytes);
        for (var i = 0; i < n; i++)
        {
            var s = _decoder[i];
            if ((SampleValidator.Problem(s) ?? RecordBounds.Replay.Problem(s, s.TimestampNs)) is null)
            {
                _engine.Evaluate(s, _store, _detections);
            }
        }
        return n;
    }

    [Fact]
    public void A_quiet_batch_of_known_processes_allocates_nothing()
    {
        var quiet = _codec.Encode(Tick("worker", 100, 0));
        for (var warm = 0; warm < 5; warm++)
        {
            Detect(quiet);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        var n = Detect(quiet);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(100, n);
        Assert.Empty(_detections);
        Assert.True(allocated == 0, $"{allocated} bytes allocated for {n} quiet samples");
    }

    [Fact]
    public void Known_processes_still_show_a_new_name_and_fire_on_a_storm()
    {
        Detect(_codec.Encode(Tick("worker", 100, 0)));
        var comm = _decoder[5].Comm;
        Detect(_codec.Encode(Tick("worker", 100, 100)));
        Assert.Same(comm, _decoder[5].Comm); // the string decoded the first time, not a new one

        Detect(_codec.Encode(Tick("renamed", 5000, 200)));
        Assert.Equal("renamed", _decoder[5].Comm);
        Assert.Empty(_detections); // sustain 2: the first sample above ε only counts
        Detect(_codec.Encode(Tick("renamed", 5000, 300)));
        Assert.Equal(100, _detections.Count);
        Assert.All(_detections, d => Assert.Equal("renamed", d.entity.comm));
    }
}
