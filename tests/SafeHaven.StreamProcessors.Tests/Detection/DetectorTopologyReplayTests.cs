using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using SafeHaven.Core;
using SafeHaven.Core.Detector;
using SafeHaven.Core.Rules;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using SafeHaven.StreamProcessors.Detection;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.Mock;
using Streamiz.Kafka.Net.SerDes;
using SafeHaven.StreamProcessors.Streams;

namespace SafeHaven.StreamProcessors.Tests.Detection;

/// <summary>
/// The detector topology through <see cref="TopologyTestDriver"/>: replay determinism, independence
/// from wall clock, scopes, and sustain/cooldown/hysteresis matching <see cref="DetectorEngine"/>.
/// </summary>
public sealed class DetectorTopologyReplayTests
{
    private const long Second = Samples.Second;
    private const long T0 = 1_700_000_000 * Second;

    private const string ReplayRules = """
        rules:
          - name: cs-storm
            counter: context-switches
            threshold: 1000
            scope: core
            sustain: 2
            cooldown: 3s
            clearBelow: 400
          - name: llc-storm
            counter: cache-misses
            threshold: 50000
            scope: machine
            cooldown: 5s
            clearBelow: 20000
          - name: preempt-storm
            counter: cpu-migrations
            threshold: 100
            scope: vm
            sustain: 3
            cooldown: 2s
        """;

    private static readonly EntityRef[] Entities =
    [
        new() { datacenter = "dc1", host = "h1", pid = 11, comm = "p11" },
        new() { datacenter = "dc1", host = "h1", container = "c1" },
        new() { datacenter = "dc1", host = "h2", pid = 21, container = "c2" },
        new() { datacenter = "dc1", host = "h2", vm = "v2" },
    ];

    /// <summary>One driver over the real topology, with a fake clock for everything that reads one.</summary>
    private sealed class Rig : IDisposable
    {
        private readonly TopicNames _topics = new();
        private readonly SingleObjectCodec<CounterSample> _codec = new();
        private readonly TopologyTestDriver _driver;
        private readonly TestInputTopic<string, byte[]> _samples;
        private readonly TestOutputTopic<string, SafeHaven.Schemas.Detection> _detections;

        public Rig(string rulesYaml)
        {
            var engine = new DetectorEngine(RulesParser.Parse(rulesYaml, "rules.yaml"));
            var topology = DetectorTopology.Build(_topics, engine, new KafkaSerdes(), Time, new DetectorMetrics());
            var config = new StreamConfig<StringSerDes, ByteArraySerDes> { ApplicationId = "detector-replay-" + Guid.NewGuid().ToString("N") };
            _driver = new TopologyTestDriver(topology, config);
            _samples = _driver.CreateInputTopic<string, byte[], StringSerDes, ByteArraySerDes>(_topics.Samples);
            _detections = _driver.CreateOutputTopic<string, SafeHaven.Schemas.Detection>(
                _topics.Detections, TimeSpan.FromSeconds(1), new StringSerDes(), new StreamizAvroSerDes<SafeHaven.Schemas.Detection>());
        }

        public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));

        public void Pipe(CounterSample s) => _samples.PipeInput(s.host, _codec.Encode(s));

        /// <summary>Pipes with a record timestamp taken from the (fake) wall clock.</summary>
        public void PipeStamped(CounterSample s) => _samples.PipeInput(s.host, _codec.Encode(s), Time.GetUtcNow().UtcDateTime);

        /// <summary>Moves every wall clock the topology can see: the driver's and the injected one.</summary>
        public void Advance(TimeSpan by)
        {
            _driver.AdvanceWallClockTime(by);
            Time.Advance(by);
        }

        public List<string> Detections() => [.. _detections.ReadKeyValueList().Select(r => Render(r.Message.Key, r.Message.Value))];

        public void Dispose() => _driver.Dispose();
    }

    private static string Render(string key, SafeHaven.Schemas.Detection d) => string.Create(CultureInfo.InvariantCulture,
        $"{key} id={d.detectionId} entity={EntityIds.Of(d.entity)} rule={d.rule} counter={d.counter} rate={d.rate:R} "
        + $"threshold={d.threshold:R} scope={d.scope} at={d.detectedAtNs} first={d.firstSampleAtNs} seq={d.sampleSeq}");

    /// <summary>What the pure engine says for the same samples, rendered like the topology's output.</summary>
    private static List<string> EngineDetections(string rulesYaml, IEnumerable<CounterSample> samples)
    {
        var engine = new DetectorEngine(RulesParser.Parse(rulesYaml, "rules.yaml"));
        var store = new InMemoryRuleStateStore();
        var detections = new List<SafeHaven.Schemas.Detection>();
        foreach (var s in samples)
        {
            engine.Evaluate(s, store, detections);
        }
        return [.. detections.Select(d => Render(EntityIds.Of(d.entity), d))];
    }

    private static CounterSample Sample(EntityRef e, long seq, long timestampNs, params (string Counter, long Count)[] values) => new()
    {
        host = e.host,
        entity = e,
        seq = seq,
        timestampNs = timestampNs,
        intervalNs = Second,
        values = values.ToDictionary(v => v.Counter, v => v.Count, StringComparer.Ordinal),
    };

    /// <summary>
    /// A fixed pseudo-random trace: four entities on two hosts, one-second windows, each counter
    /// drifting between quiet, in-between (hysteresis band) and storm, so every rule fires, clears,
    /// and meets its cooldown several times.
    /// </summary>
    private static List<CounterSample> Trace()
    {
        var random = new Random(4242);
        var seqByHost = new Dictionary<string, long>(StringComparer.Ordinal);
        var trace = new List<CounterSample>();
        for (var tick = 1; tick <= 60; tick++)
        {
            foreach (var e in Entities.OrderBy(_ => random.Next()))
            {
                var seq = seqByHost[e.host] = seqByHost.GetValueOrDefault(e.host) + 1;
                long Level(long quiet, long band, long storm) => random.Next(3) switch { 0 => quiet, 1 => band, _ => storm } + random.Next(50);
                trace.Add(Sample(e, seq, T0 + tick * Second,
                    ("context-switches", Level(100, 700, 5000)),
                    ("cache-misses", Level(1000, 30000, 90000)),
                    ("cpu-migrations", Level(10, 60, 400))));
            }
        }
        return trace;
    }

    private static List<string> Run(IReadOnlyList<CounterSample> trace, bool moveWallClock)
    {
        using var rig = new Rig(ReplayRules);
        var random = new Random(7);
        foreach (var s in trace)
        {
            if (moveWallClock)
            {
                rig.Advance(TimeSpan.FromMilliseconds(random.Next(1, 5000)));
                rig.PipeStamped(s);
            }
            else
            {
                rig.Pipe(s);
            }
        }
        return rig.Detections();
    }

    [Fact]
    public void Replaying_the_same_samples_into_a_fresh_driver_gives_identical_detections()
    {
        var trace = Trace();

        var first = Run(trace, moveWallClock: false);
        var second = Run(trace, moveWallClock: false);

        Assert.True(first.Count >= 15, $"only {first.Count} detections: the trace does not exercise the rules");
        Assert.Equal(3, first.Select(d => d.Split(' ')[3]).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(first, second);
        Assert.Equal(EngineDetections(ReplayRules, trace), first);
    }

    [Fact]
    public void Detections_do_not_depend_on_wall_clock()
    {
        var trace = Trace();

        var still = Run(trace, moveWallClock: false);
        var moving = Run(trace, moveWallClock: true);

        Assert.NotEmpty(still);
        Assert.Equal(still, moving);
    }

    [Fact]
    public void Machine_and_vm_scope_rules_produce_detections_with_their_scope()
    {
        const string rules = """
            rules:
              - name: llc-storm
                counter: cache-misses
                threshold: 50000
                scope: machine
              - name: preempt-storm
                counter: cpu-migrations
                threshold: 100
                scope: vm
            """;
        using var rig = new Rig(rules);
        var container = Entities[1];
        var vm = Entities[3];

        rig.Pipe(Sample(container, 1, T0 + Second, ("cache-misses", 90_000)));
        rig.Pipe(Sample(vm, 1, T0 + Second, ("cpu-migrations", 400)));

        // The detection id's format is not this test's business.
        var detections = rig.Detections().Select(d => string.Join(' ', d.Split(' ').Where(part => !part.StartsWith("id=", StringComparison.Ordinal))));
        Assert.Equal(
            [
                $"dc1/h1/container/c1 entity=dc1/h1/container/c1 rule=llc-storm counter=cache-misses rate=90000 threshold=50000 scope=machine at={T0 + Second} first={T0} seq=1",
                $"dc1/h2/vm/v2 entity=dc1/h2/vm/v2 rule=preempt-storm counter=cpu-migrations rate=400 threshold=100 scope=vm at={T0 + Second} first={T0} seq=1",
            ],
            detections);
    }

    [Fact]
    public void Hysteresis_through_the_topology_matches_the_engine()
    {
        const string rules = """
            rules:
              - name: cs-storm
                counter: context-switches
                threshold: 1000
                scope: core
                cooldown: 1s
                clearBelow: 400
            """;
        var e = Entities[0];
        // Fires at 1; 800/s is under ε but above the clear bound, so 3 does not fire again;
        // 300/s clears at 4; 5 fires. Cooldown (1 s) is long over each time.
        long[] rates = [5000, 800, 5000, 300, 5000];
        var trace = rates.Select((r, i) => Sample(e, i + 1, T0 + (i + 1) * 10 * Second, ("context-switches", r))).ToList();
        using var rig = new Rig(rules);

        trace.ForEach(rig.Pipe);

        var detections = rig.Detections();
        Assert.Equal(["seq=1", "seq=5"], detections.Select(d => d.Split(' ')[^1]));
        Assert.Equal(EngineDetections(rules, trace), detections);
    }

    [Fact]
    public void Cooldown_through_the_topology_matches_the_engine()
    {
        const string rules = """
            rules:
              - name: cs-storm
                counter: context-switches
                threshold: 1000
                scope: core
                cooldown: 10s
            """;
        var e = Entities[0];
        // Fires at t=1 s; cleared at 2; above again at 3 and 5 but inside the cooldown (until 11 s);
        // fires again at 11, exactly when the cooldown ends.
        (long At, long Rate)[] points = [(1, 5000), (2, 100), (3, 5000), (4, 100), (5, 5000), (6, 100), (11, 5000)];
        var trace = points.Select((p, i) => Sample(e, i + 1, T0 + p.At * Second, ("context-switches", p.Rate))).ToList();
        using var rig = new Rig(rules);

        trace.ForEach(rig.Pipe);

        var detections = rig.Detections();
        Assert.Equal([$"at={T0 + Second}", $"at={T0 + 11 * Second}"], detections.Select(d => d.Split(' ')[^3]));
        Assert.Equal(EngineDetections(rules, trace), detections);
    }
}
