using SafeHaven.Core.Detector;
using SafeHaven.Schemas;
using static SafeHaven.Core.Tests.TestData;

namespace SafeHaven.Core.Tests.Detector;

/// <summary>Cooldown and hysteresis, one sample per second, counts are events/s.</summary>
public sealed class DetectorCooldownTests
{
    private const string Cs = "context-switches";
    private readonly InMemoryRuleStateStore _store = new();
    private readonly EntityRef _entity = Process(77);
    private DetectorEngine _engine = new(RuleSet(Rule()));

    private void Use(Core.Rules.Rule rule) => _engine = new DetectorEngine(RuleSet(rule));

    // Sample at t seconds (window t-1..t) with rate events/s.
    private List<Detection> At(long t, long rate)
    {
        var detections = new List<Detection>();
        _engine.Evaluate(Sample(_entity, t, t * Second, Second, (Cs, rate)), _store, detections);
        return detections;
    }

    private RuleState State => _store.Find(DetectorEngine.StateKey("dc1/h1/pid/77", "r1")) ?? default;

    [Theory]
    [InlineData(60, 10, new long[] { 1, 62, 122 })]
    [InlineData(5, 10, new long[] { 1, 11, 21, 31, 41, 51, 62, 72, 82, 92, 102, 112, 122 })] // never inside the cooldown
    [InlineData(0, 10, new long[] { 1 })]
    public void A_detection_is_repeated_while_the_entity_stays_above_epsilon_and_not_once_it_dips(int repeatSeconds, int cooldownSeconds, long[] expected)
    {
        _engine = new DetectorEngine(RuleSet(Rule(threshold: 100, cooldown: TimeSpan.FromSeconds(cooldownSeconds), clearBelow: 50)), TimeSpan.FromSeconds(repeatSeconds));
        var fired = new List<Detection>();
        for (var t = 1; t <= 130; t++)
        {
            // A dip below ε but above the clear bound at t=61 (still hot) does not repeat; the next sample above does.
            fired.AddRange(At(t, t == 61 ? 99 : 500));
        }

        Assert.Equal(expected.Select(t => t * Second), fired.Select(d => d.detectedAtNs));
        Assert.Equal(fired.Count, fired.Select(d => d.detectionId).Distinct().Count());
        Assert.All(fired, d => Assert.Equal(DetectionKinds.Detected, d.kind));
    }

    [Fact]
    public void Cooldown_blocks_a_second_detection_inside_the_window()
    {
        Use(Rule(threshold: 100, cooldown: TimeSpan.FromSeconds(10)));

        Assert.Single(At(1, 500));
        Assert.Equal(new RuleState(1, 0, true, 11 * Second), State);
        Assert.Empty(At(2, 10));  // cooled below clearBelow
        Assert.False(State.Hot);
        Assert.Empty(At(3, 500)); // above again, but t=3 < 11
        Assert.Empty(At(10, 500));
    }

    [Fact]
    public void After_the_cooldown_a_cooled_entity_fires_again()
    {
        Use(Rule(threshold: 100, cooldown: TimeSpan.FromSeconds(10)));

        Assert.Single(At(1, 500));
        Assert.Empty(At(2, 10));
        Assert.Empty(At(5, 500));
        var d = Assert.Single(At(11, 500)); // cooldown ends at t=11 inclusive

        Assert.Equal(11 * Second, d.detectedAtNs);
        Assert.Equal(4 * Second, d.firstSampleAtNs); // the run that began at window 4..5
        Assert.Equal(21 * Second, State.CooldownUntilNs);
    }

    [Fact]
    public void After_the_cooldown_an_entity_that_never_cooled_does_not_fire_again()
    {
        Use(Rule(threshold: 100, cooldown: TimeSpan.FromSeconds(2)));

        Assert.Single(At(1, 500));
        for (var t = 2; t <= 10; t++)
        {
            Assert.Empty(At(t, 500));
        }
        Assert.True(State.Hot);
    }

    [Fact]
    public void Rate_between_clearBelow_and_threshold_keeps_it_hot()
    {
        Use(Rule(threshold: 100, cooldown: TimeSpan.Zero, clearBelow: 40));

        Assert.Single(At(1, 500));
        Assert.Empty(At(2, 60));  // between 40 and 100: still hot
        Assert.True(State.Hot);
        Assert.Equal(0, State.Above);
        Assert.Empty(At(3, 40));  // exactly clearBelow: still hot
        Assert.True(State.Hot);
        Assert.Empty(At(4, 500)); // no refire while hot
        Assert.Empty(At(5, 39));  // below clearBelow: cools
        Assert.False(State.Hot);
        var d = Assert.Single(At(6, 500));
        Assert.Equal(5 * Second, d.firstSampleAtNs);
    }

    [Fact]
    public void Without_clearBelow_a_rate_at_or_below_the_threshold_cools()
    {
        Use(Rule(threshold: 100, cooldown: TimeSpan.Zero));

        Assert.Single(At(1, 500));
        Assert.Empty(At(2, 100)); // == threshold == clearBelow: not below, still hot
        Assert.True(State.Hot);
        Assert.Empty(At(3, 99));
        Assert.False(State.Hot);
        Assert.Single(At(4, 101));
    }

    [Fact]
    public void Sustain_run_during_cooldown_fires_once_the_cooldown_ends()
    {
        Use(Rule(threshold: 100, sustain: 2, cooldown: TimeSpan.FromSeconds(5)));

        Assert.Empty(At(1, 500));
        Assert.Single(At(2, 500));  // cooldown until 7
        Assert.Empty(At(3, 0));
        Assert.Empty(At(4, 500));
        Assert.Empty(At(5, 500));   // sustain met, still cooling down
        Assert.Empty(At(6, 500));
        var d = Assert.Single(At(7, 500));
        Assert.Equal(3 * Second, d.firstSampleAtNs);
    }

    [Fact]
    public void Below_threshold_samples_of_a_fresh_entity_store_nothing()
    {
        Use(Rule(threshold: 100));

        Assert.Empty(At(1, 5));
        Assert.Equal(0, _store.Count);
    }

    [Fact]
    public void Evaluate_checks_its_arguments()
    {
        var list = new List<Detection>();
        var sample = Sample(_entity, 1, Second, Second, (Cs, 1));
        Assert.Throws<ArgumentNullException>(() => _engine.Evaluate((CounterSample)null!, _store, list));
        Assert.Throws<ArgumentNullException>(() => _engine.Evaluate(sample, null!, list));
        Assert.Throws<ArgumentNullException>(() => _engine.Evaluate(sample, _store, null!));
        Assert.Throws<ArgumentNullException>(() => new DetectorEngine(null!));
    }
}
