using SafeHaven.Core.Detector;
using SafeHaven.Core.Rules;
using SafeHaven.Schemas;
using static SafeHaven.Core.Tests.TestData;

namespace SafeHaven.Core.Tests.Detector;

/// <summary>releaseAfter: a quiet signal once a detected entity stayed below clearBelow that long, in sample time.</summary>
public sealed class DetectorReleaseTests
{
    private const string Cs = "context-switches";
    private readonly InMemoryRuleStateStore _store = new();
    private readonly EntityRef _entity = Process(77);
    private readonly DetectorEngine _engine = new(RuleSet(Rule(threshold: 100, cooldown: TimeSpan.FromSeconds(1)) with
    {
        ClearBelow = 50, ReleaseAfter = TimeSpan.FromSeconds(3),
    }));

    private List<Detection> At(long t, long rate)
    {
        var detections = new List<Detection>();
        _engine.Evaluate(Sample(_entity, t, t * Second, Second, (Cs, rate)), _store, detections);
        return detections;
    }

    [Fact]
    public void Quiet_fires_once_after_releaseAfter_below_the_clear_bound_and_a_new_storm_is_detected_again()
    {
        Assert.Equal(DetectionKinds.Detected, Assert.Single(At(1, 500)).kind);
        Assert.Empty(At(2, 10));   // quiet since t=1 (window start)
        Assert.Empty(At(3, 70));   // between clearBelow and ε: the quiet run starts over
        Assert.Empty(At(4, 10));   // quiet since 3
        Assert.Empty(At(5, 10));
        var quiet = Assert.Single(At(6, 10)); // 6 - 3 >= 3 s
        Assert.Equal((DetectionKinds.Quiet, "r1", 3 * Second), (quiet.kind, quiet.rule, quiet.firstSampleAtNs));
        Assert.EndsWith(":quiet", quiet.detectionId, StringComparison.Ordinal);
        Assert.Empty(At(7, 10));
        Assert.Empty(At(8, 10));
        Assert.Equal(DetectionKinds.Detected, Assert.Single(At(9, 500)).kind);
    }

    [Fact]
    public void Without_releaseAfter_no_quiet_signal_is_ever_sent()
    {
        var engine = new DetectorEngine(RuleSet(Rule(threshold: 100, cooldown: TimeSpan.FromSeconds(1))));
        var detections = new List<Detection>();
        for (var t = 1; t < 30; t++)
        {
            engine.Evaluate(Sample(_entity, t, t * Second, Second, (Cs, t == 1 ? 500 : 0)), _store, detections);
        }
        Assert.Equal([DetectionKinds.Detected], detections.Select(d => d.kind));
    }

    [Fact]
    public void ReleaseAfter_is_parsed_and_validated_with_its_line()
    {
        const string Head = "rules:\n  - name: r\n    counter: context-switches\n    threshold: 10\n    scope: core\n";
        Assert.Equal(TimeSpan.FromMinutes(10), RulesParser.Parse(Head + "    releaseAfter: 10m\n", "r.yaml").Rules[0].ReleaseAfter);
        Assert.Null(RulesParser.Parse(Head, "r.yaml").Rules[0].ReleaseAfter);
        var e = Assert.Throws<RulesFormatException>(() => RulesParser.Parse(Head + "    releaseAfter: soon\n", "r.yaml"));
        Assert.Equal("r.yaml:6: releaseAfter: 'soon' is not a duration (expected a number with a unit: 500ms, 30s, 2m, 1h)", e.Message);
        e = Assert.Throws<RulesFormatException>(() => RulesParser.Parse(Head + "    releaseAfter: 0s\n", "r.yaml"));
        Assert.Equal("r.yaml:6: releaseAfter must be longer than 0, got '0s'", e.Message);
    }
}
