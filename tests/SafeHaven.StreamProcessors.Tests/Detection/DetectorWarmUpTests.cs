using SafeHaven.Core.Detector;
using SafeHaven.Core.Rules;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Security;
using SafeHaven.StreamProcessors.Detection;

namespace SafeHaven.StreamProcessors.Tests.Detection;

/// <summary>The start-up run of the firing path: it must really fire, whatever the rules, and change nothing real.</summary>
public sealed class DetectorWarmUpTests
{
    private static DetectorEngine Engine(string rules) => new(RulesParser.Parse("rules:\n" + rules, "rules.yaml"));

    [Theory]
    [InlineData("  - { name: a, counter: context-switches, threshold: 1000, scope: core }")]
    [InlineData("  - { name: b, counter: cpu-migrations, threshold: 0.5, scope: machine, sustain: 3, cooldown: 1h }")]
    [InlineData("  - { name: c, counter: 'tp:sched:sched_switch', threshold: 12345678, scope: core, sustain: 10 }")]
    public void The_synthetic_storm_fires_exactly_one_detection_through_the_whole_topology(string rule)
    {
        Assert.Equal(1, DetectorWarmUp.Run(Engine(rule), new KafkaSerdes(), detectorKey: null));
    }

    [Fact]
    public void Detections_are_sealed_as_the_real_ones_are()
    {
        using var key = RecordSigner.Ephemeral(KeyRoles.Detector, "detector");

        Assert.Equal(1, DetectorWarmUp.Run(Engine("  - { name: a, counter: context-switches, threshold: 10, scope: core, sustain: 2 }"), new KafkaSerdes(), key));
    }

    [Fact]
    public void The_first_rule_that_can_fire_is_used_and_none_means_nothing_to_warm()
    {
        Assert.Equal(1, DetectorWarmUp.Run(Engine("""
              - { name: slow, counter: page-faults, threshold: 10, scope: core, sustain: 50 }
              - { name: fast, counter: context-switches, threshold: 10, scope: core }
            """), new KafkaSerdes(), null));
        Assert.Equal(0, DetectorWarmUp.Run(Engine("  - { name: slow, counter: page-faults, threshold: 10, scope: core, sustain: 50 }"), new KafkaSerdes(), null));
    }

    [Fact]
    public void The_storm_is_above_the_threshold_for_exactly_the_sustain_and_ends_now()
    {
        var storm = DetectorWarmUp.Storm(Engine("  - { name: b, counter: 'raw:0x1234', threshold: 2.5, scope: core, sustain: 4 }"))!;

        Assert.Equal(4, storm.Count);
        Assert.All(storm, s => Assert.True(DetectorEngine.Rate(s.values["raw:0x1234"], s.intervalNs) > 2.5));
        var nowNs = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;
        Assert.InRange(storm[^1].timestampNs, nowNs - 60_000_000_000, nowNs);
        Assert.Equal(storm.Select(s => s.timestampNs).Order(), storm.Select(s => s.timestampNs));
    }
}
