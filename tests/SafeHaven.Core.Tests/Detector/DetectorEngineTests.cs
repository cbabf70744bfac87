using SafeHaven.Core.Detector;
using SafeHaven.Schemas;
using static SafeHaven.Core.Tests.TestData;

namespace SafeHaven.Core.Tests.Detector;

public sealed class DetectorEngineTests
{
    private const string Cs = "context-switches";
    private readonly InMemoryRuleStateStore _store = new();

    private static List<Detection> Feed(DetectorEngine engine, IRuleStateStore store, params CounterSample[] samples)
    {
        var detections = new List<Detection>();
        foreach (var s in samples)
        {
            engine.Evaluate(s, store, detections);
        }
        return detections;
    }

    [Theory]
    [InlineData(500, 500_000_000L, 1000.0)]
    [InlineData(3, 2_000_000_000L, 1.5)]
    [InlineData(1, 1_000L, 1e6)]
    [InlineData(0, 250_000_000L, 0.0)]
    public void Rate_is_count_per_second_of_the_window(long count, long intervalNs, double rate) =>
        Assert.Equal(rate, DetectorEngine.Rate(count, intervalNs));

    [Fact]
    public void Rate_uses_the_sample_interval_not_one_second()
    {
        var engine = new DetectorEngine(RuleSet(Rule(threshold: 1000)));
        // 600 events in 0.5 s is 1200/s (fires); 600 events in 1 s would be 600/s (would not).
        var half = Feed(engine, _store, Sample(Process(7), 1, 10 * Second, Second / 2, (Cs, 600)));
        var d = Assert.Single(half);
        Assert.Equal(1200.0, d.rate);

        var slow = Feed(new DetectorEngine(RuleSet(Rule(threshold: 1000))), new InMemoryRuleStateStore(),
            Sample(Process(7), 1, 10 * Second, 2 * Second, (Cs, 1900)));
        Assert.Empty(slow);
    }

    [Fact]
    public void Rate_equal_to_the_threshold_does_not_count()
    {
        var engine = new DetectorEngine(RuleSet(Rule(threshold: 1000)));
        Assert.Empty(Feed(engine, _store, Sample(Process(7), 1, Second, Second, (Cs, 1000))));
        Assert.Single(Feed(engine, _store, Sample(Process(7), 2, 2 * Second, Second, (Cs, 1001))));
    }

    [Fact]
    public void Detection_fields()
    {
        var engine = new DetectorEngine(RuleSet(Rule(name: "cs-storm", threshold: 1000, scope: Scopes.Machine)));
        var entity = Process(42, container: "c1");

        var d = Assert.Single(Feed(engine, _store, Sample(entity, 17, 5 * Second, Second / 4, (Cs, 400), ("page-faults", 1))));

        Assert.Equal($"h1:{5 * Second}:17:cs-storm", d.detectionId);
        Assert.Same(entity, d.entity);
        Assert.Equal("cs-storm", d.rule);
        Assert.Equal(Cs, d.counter);
        Assert.Equal(1600.0, d.rate);
        Assert.Equal(1000.0, d.threshold);
        Assert.Equal(Scopes.Machine, d.scope);
        Assert.Equal(5 * Second, d.detectedAtNs);
        Assert.Equal(5 * Second - Second / 4, d.firstSampleAtNs);
        Assert.Equal(17, d.sampleSeq);
    }

    [Fact]
    public void Sustain_3_fires_on_the_third_consecutive_sample_and_a_dip_resets_the_run()
    {
        var engine = new DetectorEngine(RuleSet(Rule(threshold: 100, sustain: 3)));
        var p = Process(9);
        var seq = 0L;
        List<Detection> At(long count) => Feed(engine, _store, Sample(p, ++seq, seq * Second, Second, (Cs, count)));

        Assert.Empty(At(200)); // t=1 run starts at window 0
        Assert.Empty(At(200)); // t=2
        Assert.Empty(At(50));  // t=3 dip: run reset
        Assert.Empty(At(200)); // t=4 run starts at window 3
        Assert.Empty(At(200)); // t=5
        var d = Assert.Single(At(200)); // t=6: third in a row

        Assert.Equal(6 * Second, d.detectedAtNs);
        Assert.Equal(3 * Second, d.firstSampleAtNs);
        Assert.Equal($"h1:{6 * Second}:6:r1", d.detectionId);
        Assert.Empty(At(200)); // still hot: no refire
    }

    [Fact]
    public void FirstSampleAtNs_is_the_window_start_of_the_first_above_sample_with_uneven_windows()
    {
        var engine = new DetectorEngine(RuleSet(Rule(threshold: 100, sustain: 2)));
        var p = Process(9);

        Assert.Empty(Feed(engine, _store, Sample(p, 1, 10_300_000_000, 300_000_000, (Cs, 60))));
        var d = Assert.Single(Feed(engine, _store, Sample(p, 2, 11_000_000_000, 700_000_000, (Cs, 100))));

        Assert.Equal(10_000_000_000, d.firstSampleAtNs);
        Assert.Equal(11_000_000_000, d.detectedAtNs);
        Assert.Equal(100 / 0.7, d.rate, 9);
    }

    [Fact]
    public void Rule_whose_counter_is_absent_is_ignored_and_keeps_no_state()
    {
        var engine = new DetectorEngine(RuleSet(Rule(counter: "page-faults", threshold: 1)));

        Assert.Empty(Feed(engine, _store, Sample(Process(3), 1, Second, Second, (Cs, 1_000_000))));
        Assert.Equal(0, _store.Count);
    }

    [Fact]
    public void Two_rules_on_different_counters_fire_independently()
    {
        var engine = new DetectorEngine(RuleSet(
            Rule(name: "cs", counter: Cs, threshold: 100),
            Rule(name: "pf", counter: "page-faults", threshold: 10, sustain: 2)));
        var p = Process(3);

        var first = Feed(engine, _store, Sample(p, 1, Second, Second, (Cs, 500), ("page-faults", 50)));
        Assert.Equal("cs", Assert.Single(first).rule);
        var second = Feed(engine, _store, Sample(p, 2, 2 * Second, Second, (Cs, 500), ("page-faults", 50)));
        var pf = Assert.Single(second);
        Assert.Equal("pf", pf.rule);
        Assert.Equal("page-faults", pf.counter);
        Assert.Equal(50.0, pf.rate);
        Assert.Equal(2, _store.Count);
    }

    [Fact]
    public void Two_entities_are_independent()
    {
        var engine = new DetectorEngine(RuleSet(Rule(threshold: 100, sustain: 2)));
        var a = Process(10);
        var b = Process(11);

        Assert.Empty(Feed(engine, _store, Sample(a, 1, Second, Second, (Cs, 500)), Sample(b, 2, Second, Second, (Cs, 5))));
        var d = Feed(engine, _store, Sample(a, 3, 2 * Second, Second, (Cs, 500)), Sample(b, 4, 2 * Second, Second, (Cs, 500)));

        Assert.Equal(10, Assert.Single(d).entity.pid);
        Assert.NotNull(_store.Find(DetectorEngine.StateKey("dc1/h1/pid/10", "r1")));
        Assert.Equal(new RuleState(1, Second, false, 0), _store.Find(DetectorEngine.StateKey("dc1/h1/pid/11", "r1")));
    }

    [Fact]
    public void Same_samples_on_a_fresh_store_give_identical_detections()
    {
        var rules = RuleSet(Rule(name: "a", threshold: 100, sustain: 2, cooldown: TimeSpan.FromSeconds(3), clearBelow: 50),
            Rule(name: "b", counter: "page-faults", threshold: 7));
        var counts = new long[] { 10, 300, 300, 60, 20, 400, 400, 400, 10, 400, 400, 9 };
        var samples = new List<CounterSample>();
        for (var i = 0; i < counts.Length; i++)
        {
            var entity = Process(100 + (i % 2));
            samples.Add(Sample(entity, i + 1, (i + 1) * Second / 2, Second / 2, (Cs, counts[i]), ("page-faults", counts[i] / 50)));
        }

        var run1 = Feed(new DetectorEngine(rules), new InMemoryRuleStateStore(), [.. samples]);
        var run2 = Feed(new DetectorEngine(rules), new InMemoryRuleStateStore(), [.. samples]);

        Assert.NotEmpty(run1);
        Assert.Equal(
            run1.Select(d => (d.detectionId, d.rule, d.entity.pid, d.detectedAtNs, d.firstSampleAtNs, d.rate)),
            run2.Select(d => (d.detectionId, d.rule, d.entity.pid, d.detectedAtNs, d.firstSampleAtNs, d.rate)));
    }

    [Fact]
    public void Replace_swaps_the_rules_and_keeps_state_of_rules_that_keep_their_name()
    {
        var engine = new DetectorEngine(RuleSet(Rule(name: "keep", threshold: 100)));
        var p = Process(5);
        Assert.Single(Feed(engine, _store, Sample(p, 1, Second, Second, (Cs, 500))));

        var next = RuleSet(Rule(name: "keep", threshold: 200), Rule(name: "new", counter: "page-faults", threshold: 1));
        engine.Replace(next);

        Assert.Same(next, engine.Rules);
        var d = Feed(engine, _store, Sample(p, 2, 2 * Second, Second, (Cs, 500), ("page-faults", 5)));
        Assert.Equal("new", Assert.Single(d).rule); // "keep" is still hot: no refire
    }

    [Fact]
    public void Replace_with_new_threshold_applies_to_the_next_sample()
    {
        var engine = new DetectorEngine(RuleSet(Rule(threshold: 1000)));
        var p = Process(5);
        Assert.Empty(Feed(engine, _store, Sample(p, 1, Second, Second, (Cs, 500))));

        engine.Replace(RuleSet(Rule(threshold: 400)));

        Assert.Single(Feed(engine, _store, Sample(p, 2, 2 * Second, Second, (Cs, 500))));
        Assert.Throws<ArgumentNullException>(() => engine.Replace(null!));
    }
}
