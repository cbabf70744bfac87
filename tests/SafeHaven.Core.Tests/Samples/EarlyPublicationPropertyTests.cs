using CsCheck;
using SafeHaven.Core.Detector;
using SafeHaven.Core.Rules;
using SafeHaven.Core.Samples;

namespace SafeHaven.Core.Tests.Samples;

/// <summary>
/// Early publication never makes a rule fire that the planned window would not have fired: over random
/// rules and random cumulative count sequences read at random fine ticks, the first tick at which
/// <see cref="EarlyPublication.ShouldPublish"/> says yes publishes a sample on which every rule that fires
/// (rate over the short window &gt; ε) also fires on the planned window, even if no further event comes;
/// and at least one rule fires on it, so an early sample is never a sample below every ε.
/// </summary>
public sealed class EarlyPublicationPropertyTests
{
    private static readonly string[] CounterNames = ["context-switches", "page-faults"];

    internal sealed record Scenario(Rule[] Rules, long PlannedNs, long[] TickNs, long[][] Counts)
    {
        public override string ToString() =>
            $"rules [{string.Join("; ", Rules.Select(r => $"{r.Counter} > {r.Threshold}"))}], planned {PlannedNs} ns, ticks [{string.Join(",", TickNs)}], " +
            $"counts {string.Join(" | ", Counts.Select(c => string.Join(",", c)))}";
    }

    // Thresholds from tiny to large, with fractions: boundaries where count × 1e9 / ns lands close to ε.
    private static readonly Gen<Rule> GenRule = Gen.Select(Gen.Int[0, 1], Gen.Int[1, 20_000], Gen.Int[0, 3]).Select(x =>
        new Rule($"r", CounterNames[x.Item1], x.Item3 == 0 ? x.Item2 / 7.0 : x.Item2, "core", 1, TimeSpan.Zero, 0));

    private static readonly Gen<Scenario> GenScenario =
        Gen.Select(GenRule.Array[1, 4], Gen.Long[1_000_000, 3_000_000_000], Gen.Int[1, 60])
            .SelectMany(x => Gen.Select(
                Gen.Long[1, x.Item2 - 1].Array[x.Item3],
                // Per counter, increments per tick: mostly quiet, sometimes bursts (a storm or a single spike).
                Gen.Frequency((6, Gen.Long[0, 50]), (3, Gen.Long[0, 100_000]), (1, Gen.Long[0, 5_000_000])).Array[x.Item3].Array[2],
                (ticks, increments) => new Scenario(
                    [.. x.Item1.Select((r, i) => r with { Name = "r" + i })], x.Item2, [.. ticks.Distinct().Order()],
                    [.. increments.Select(inc => Cumulative(inc))])))
            .Select(s => s with { Counts = [.. s.Counts.Select(c => c[..s.TickNs.Length])] });

    private static long[] Cumulative(long[] increments)
    {
        var sums = new long[increments.Length];
        long total = 0;
        for (int i = 0; i < increments.Length; i++)
        {
            sums[i] = total += increments[i];
        }
        return sums;
    }

    private static int s_published;

    private static void Run(Scenario s)
    {
        var early = new EarlyPublication(s.Rules);
        for (int t = 0; t < s.TickNs.Length; t++)
        {
            var values = CounterNames.Select((name, c) => KeyValuePair.Create(name, s.Counts[c][t])).ToArray();
            if (!early.ShouldPublish(values, s.TickNs[t], s.PlannedNs))
            {
                continue;
            }
            bool anyFires = false;
            foreach (var rule in s.Rules)
            {
                long count = values.Single(v => v.Key == rule.Counter).Value;
                bool firesEarly = DetectorEngine.Rate(count, s.TickNs[t]) > rule.Threshold;
                anyFires |= firesEarly;
                if (firesEarly)
                {
                    // Worst case: nothing more happens until the planned end; and what did happen in this sequence.
                    long final = s.Counts[Array.IndexOf(CounterNames, rule.Counter)][^1];
                    Assert.True(DetectorEngine.Rate(count, s.PlannedNs) > rule.Threshold, $"tick {t}: {rule.Name} fires early but not on the planned window with no further event");
                    Assert.True(DetectorEngine.Rate(final, s.PlannedNs) > rule.Threshold, $"tick {t}: {rule.Name} fires early but not on the planned window");
                }
            }
            Assert.True(anyFires, $"tick {t}: published early, yet no rule fires on the early sample");
            Interlocked.Increment(ref s_published);
            return; // The window ends here; the next one starts from zero.
        }
    }

    [Fact]
    public void Early_publication_never_fires_a_rule_the_planned_window_would_not()
    {
        GenScenario.Sample(Run, iter: 20_000, print: s => s.ToString());
        // Not vacuous: a good share of the random windows does get published early.
        Assert.True(s_published > 2_000, $"only {s_published} of 20000 scenarios published early");
    }

    [Fact]
    public void The_trigger_count_is_the_smallest_count_that_guarantees_the_rate() =>
        Gen.Select(GenRule, Gen.Long[1, 3_000_000_000]).Sample(x =>
        {
            var (rule, plannedNs) = x;
            var early = new EarlyPublication([rule]);
            long n = early.TriggerCount(rule.Counter, plannedNs);
            Assert.True(early.Guarantees(rule.Counter, n, plannedNs), $"{n} does not guarantee");
            Assert.True(n == 0 || !early.Guarantees(rule.Counter, n - 1, plannedNs), $"{n - 1} already guarantees");
        }, iter: 20_000);

    [Fact]
    public void Counts_that_stay_at_or_below_the_lowest_threshold_over_the_planned_window_are_never_published_early() =>
        Gen.Select(GenRule.Array[1, 4], Gen.Long[1_000_000, 3_000_000_000], Gen.Double[0, 1], Gen.Double[0, 1]).Sample(x =>
        {
            var (rules, plannedNs, share, when) = x;
            var early = new EarlyPublication(rules);
            foreach (string counter in CounterNames)
            {
                if (!early.TryGetLowestThreshold(counter, out double lowest))
                {
                    continue;
                }
                // At most ε × planned: the planned window's rate is at most ε, so no rule fires on it.
                long count = (long)Math.Floor(lowest * plannedNs / 1e9 * share);
                long elapsed = Math.Clamp((long)(plannedNs * when), 1, plannedNs - 1);
                Assert.False(early.ShouldPublish([KeyValuePair.Create(counter, count)], elapsed, plannedNs), $"{counter}: {count} events in {elapsed} of {plannedNs} ns, ε {lowest}");
            }
        }, iter: 20_000);
}
