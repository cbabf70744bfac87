using CsCheck;
using SafeHaven.Core.Rules;
using SafeHaven.Evaluation.Learning;
using static SafeHaven.Evaluation.Tests.Samples;

namespace SafeHaven.Evaluation.Tests;

public class LearntRulesTests
{
    [Fact]
    public void Learnt_rules_load_as_a_rules_file_and_say_where_each_number_came_from()
    {
        var learner = Learn(Samples.Trace(10, [1, 2, 3], (pid, i) => (pid * 100) + i));

        var yaml = LearntRules.Write(learner, new LearnOptions(Margin: 1.5, Source: "benign.avro"));
        var rules = RulesParser.Parse(yaml, "learnt.yaml");

        var rule = Assert.Single(rules.Rules);
        // Highest: pid 3 in window 10, 310/s; × 1.5 = 465.
        Assert.Equal(("context-switches", 465.0, 310.0, "core"), (rule.Counter, rule.Threshold, rule.ClearBelow, rule.Scope));
        Assert.Contains("max 310", yaml, StringComparison.Ordinal);
        Assert.Contains("dc1/h1/pid/3 'p'", yaml, StringComparison.Ordinal);
        Assert.Contains("threshold = max 310 × 1.5 = 465 → 465", yaml, StringComparison.Ordinal);
        Assert.Contains("benign.avro", yaml, StringComparison.Ordinal);
    }

    [Fact]
    public void Learnt_rules_give_no_false_positive_on_the_trace_they_were_learnt_from()
    {
        Gen.Int[1, 2_000_000].Array[5, 200].Select(Gen.Double[1, 3]).Sample((counts, margin) =>
        {
            var trace = counts.Select((c, i) => Samples.Of(1 + (i % 7), i, T0 + ((1 + (i / 7)) * Second), c, intervalNs: 999_999_937)).ToList();
            var rules = RulesParser.Parse(LearntRules.Write(Learn(trace), new LearnOptions(margin)), "learnt.yaml");

            var score = Scoring.Score(Run(trace, rules), [], UnlabelledPolicy.Benign);

            return score.FalsePositives == 0 && score.TrueNegatives == Math.Min(7, counts.Length);
        });
    }

    [Fact]
    public void A_percentile_threshold_below_the_benign_max_is_flagged()
    {
        var trace = Samples.Trace(1000, [1], (_, i) => i == 500 ? 1_000_000 : 100);

        var yaml = LearntRules.Write(Learn(trace), new LearnOptions(1, RateStatistic.P999));

        Assert.Equal(100, RulesParser.Parse(yaml, "l.yaml").Rules[0].Threshold);
        Assert.Contains("WARNING: below the benign max", yaml, StringComparison.Ordinal);
    }

    [Fact]
    public void Counters_never_counted_get_no_rule_and_no_counter_at_all_is_an_error()
    {
        var learner = Learn(Samples.Trace(3, [1], (_, _) => 0));

        var e = Assert.Throws<ArgumentException>(() => LearntRules.Write(learner, new LearnOptions()));

        Assert.Contains("no rule can be learnt", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.9, "core", "margin must be a number ≥ 1")]
    [InlineData(double.NaN, "core", "margin")]
    [InlineData(2, "rack", "scope 'rack'")]
    public void Bad_options_are_refused(double margin, string scope, string problem)
    {
        var e = Assert.Throws<ArgumentException>(() => new LearnOptions(margin, Scope: scope).Validate());

        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RoundUp_keeps_three_significant_digits_and_never_goes_below()
    {
        Gen.Double[1e-6, 1e12].Sample(x =>
        {
            var r = LearntRules.RoundUp(x);
            // Three significant digits: a step of at most 1 % above x.
            return r >= x && r <= x * 1.01;
        });
    }

    [Fact]
    public void Nearest_rank_quantiles()
    {
        var sorted = Enumerable.Range(1, 1000).Select(i => (double)i).ToArray();

        Assert.Equal((500.0, 990.0, 999.0, 1.0), (RateLearner.NearestRank(sorted, 0.5), RateLearner.NearestRank(sorted, 0.99),
            RateLearner.NearestRank(sorted, 0.999), RateLearner.NearestRank([1.0], 0.999)));
    }

    private static RateLearner Learn(IEnumerable<Schemas.CounterSample> trace)
    {
        var learner = new RateLearner();
        foreach (var s in trace)
        {
            learner.Add(s);
        }
        return learner;
    }
}
