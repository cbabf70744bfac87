using System.Globalization;
using System.Text;
using SafeHaven.Core;
using SafeHaven.Core.Rules;

namespace SafeHaven.Evaluation.Learning;

/// <summary>Which point of a counter's benign rate distribution a threshold starts from.</summary>
public enum RateStatistic
{
    /// <summary>The highest rate seen: with a margin ≥ 1, the training trace itself can never fire.</summary>
    Max,

    /// <summary>The 99.9th percentile: tighter, but the top 0.1 % of the training samples may exceed it.</summary>
    P999,

    /// <summary>The 99th percentile.</summary>
    P99,
}

/// <summary>How <see cref="LearntRules"/> turns rates into rules.</summary>
/// <param name="Margin">Threshold = statistic × margin; at least 1.</param>
/// <param name="Statistic">Which point of the distribution.</param>
/// <param name="Scope">The rules' scope (benign data cannot tell a channel's scope).</param>
/// <param name="Source">Names the trace in the comments.</param>
public sealed record LearnOptions(double Margin = 2, RateStatistic Statistic = RateStatistic.Max, string Scope = Scopes.Core, string Source = "trace")
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the bad option.</summary>
    public void Validate()
    {
        if (!double.IsFinite(Margin) || Margin < 1)
        {
            throw new ArgumentException($"margin must be a number ≥ 1 (below 1 the threshold falls under the benign rates it was learnt from), got {Margin.ToString(CultureInfo.InvariantCulture)}");
        }
        if (!Scopes.All.Contains(Scope))
        {
            throw new ArgumentException($"scope '{Identifiers.Printable(Scope)}' must be one of {string.Join(", ", Scopes.All)}");
        }
    }
}

/// <summary>
/// Proposes a rules file from a benign trace's rate distributions (the original system's future work, automatic property
/// generation): one rule per counter, threshold = the chosen statistic × margin rounded up to 3 significant digits,
/// clear bound = the benign maximum rounded up. Comments say where every number came from. The output loads with
/// <see cref="RulesParser"/> like any rules file.
/// </summary>
public static class LearntRules
{
    /// <summary>The rules YAML for the counters <paramref name="learner"/> saw; throws <see cref="ArgumentException"/> when no counter yields a rule.</summary>
    public static string Write(RateLearner learner, LearnOptions options)
    {
        ArgumentNullException.ThrowIfNull(learner);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var c = CultureInfo.InvariantCulture;
        var s = new StringBuilder();
        var stat = Name(options.Statistic);
        s.Append(c, $"# Rules learnt by `safehaven learn` from the benign trace {options.Source}:\n");
        s.Append(c, $"#   {learner.Samples:N0} valid samples of {learner.Entities:N0} entities over {learner.SpanSeconds:F1} s of windows ({learner.Rejected:N0} rejected samples not used).\n");
        s.Append(c, $"# Rate = a sample's count × 1e9 / intervalNs, as the detector computes it. Per counter:\n");
        s.Append(c, $"#   threshold = {stat} rate × margin {Num(options.Margin)}, rounded up to 3 significant digits;\n");
        s.Append("#   clearBelow = the benign max, rounded up (hot until the rate is back in the benign range);\n");
        s.Append(c, $"#   scope {options.Scope} (from --scope: benign data cannot tell a channel's scope); sustain 1; cooldown 30s.\n");
        s.Append("# Review before use: a benign trace bounds what is normal, not what a channel looks like.\n");
        s.Append("rules:\n");
        var names = new HashSet<string>(StringComparer.Ordinal);
        var written = 0;
        foreach (var rates in learner.Counters())
        {
            if (!Counters.IsValid(rates.Counter, out var error))
            {
                s.Append(c, $"  # {Comment(rates.Counter)}: no rule, not a counter name a rule can watch ({Comment(error)})\n");
                continue;
            }
            if (rates.Max <= 0)
            {
                s.Append(c, $"  # {rates.Counter}: no rule, never counted in {rates.Samples:N0} samples (nothing to learn a rate from)\n");
                continue;
            }
            var basis = options.Statistic switch { RateStatistic.P999 => rates.P999, RateStatistic.P99 => rates.P99, _ => rates.Max };
            var basisName = stat;
            if (basis <= 0)
            {
                (basis, basisName) = (rates.Max, "max (the " + stat + " is 0)");
            }
            var threshold = RoundUp(basis * options.Margin);
            var clear = Math.Min(RoundUp(rates.Max), threshold);
            var peak = rates.Peak;
            s.Append(c, $"  # {rates.Counter}: {rates.Samples:N0} samples of {rates.Entities:N0} entities; rate/s median {Num(rates.Median)}, p99 {Num(rates.P99)}, p99.9 {Num(rates.P999)}, max {Num(rates.Max)}\n");
            s.Append(c, $"  #   (max: {peak.EntityId}{(peak.Comm is null ? "" : $" '{Comment(peak.Comm)}'")}, window ending {peak.WindowEndNs} ns).\n");
            s.Append(c, $"  #   threshold = {basisName} {Num(basis)} × {Num(options.Margin)} = {Num(basis * options.Margin)} → {Num(threshold)}; clearBelow = max {Num(rates.Max)} → {Num(clear)}\n");
            if (threshold < rates.Max)
            {
                s.Append("  #   WARNING: below the benign max: the training trace itself exceeds this threshold.\n");
            }
            var name = UniqueName(rates.Counter, names);
            s.Append(c, $"  - name: {name}\n    counter: {Quote(rates.Counter)}\n    threshold: {Num(threshold)}\n    scope: {options.Scope}\n");
            s.Append(c, $"    sustain: 1\n    cooldown: 30s\n    clearBelow: {Num(clear)}\n");
            written++;
        }
        return written > 0 ? s.ToString() : throw new ArgumentException($"no counter of {options.Source} has a positive rate: no rule can be learnt");
    }

    /// <summary>The smallest number with at most 3 significant digits that is ≥ <paramref name="x"/> (x &gt; 0).</summary>
    internal static double RoundUp(double x)
    {
        var exponent = (int)Math.Floor(Math.Log10(x)) - 2;
        var mantissa = (long)Math.Ceiling(x / Math.Pow(10, exponent));
        // The division and the printed form can each lose an ulp: take the next step up until the printed value holds.
        while (true)
        {
            var value = double.Parse(Decimal(mantissa, exponent), CultureInfo.InvariantCulture);
            if (value >= x)
            {
                return value;
            }
            mantissa++;
        }
    }

    private static string Decimal(long mantissa, int exponent) => exponent >= 0
        ? (mantissa * (decimal)Math.Pow(10, exponent)).ToString(CultureInfo.InvariantCulture)
        : (mantissa / (decimal)Math.Pow(10, -exponent)).ToString(CultureInfo.InvariantCulture);

    private static string Name(RateStatistic s) => s switch { RateStatistic.P999 => "p99.9", RateStatistic.P99 => "p99", _ => "max" };

    private static string Num(double v) => Math.Abs(v) >= 100 || v == Math.Floor(v)
        ? v.ToString(v == Math.Floor(v) ? "0" : "0.#", CultureInfo.InvariantCulture)
        : v.ToString("0.####", CultureInfo.InvariantCulture);

    private static string UniqueName(string counter, HashSet<string> names)
    {
        var stem = "learnt-" + new string([.. counter.Select(ch => char.IsAsciiLetterOrDigit(ch) || ch is '.' or '_' or ':' or '-' ? ch : '-')]);
        stem = stem.Length > 120 ? stem[..120] : stem;
        var name = stem;
        for (var i = 2; !names.Add(name); i++)
        {
            name = $"{stem}-{i}";
        }
        return name;
    }

    // Counter names are validated (Counters.IsValid) before they are written, but some allow ':' — quote them for YAML.
    private static string Quote(string counter) => "'" + counter.Replace("'", "''", StringComparison.Ordinal) + "'";

    private static string Comment(string text) => new([.. text.Select(ch => char.IsControl(ch) ? ' ' : ch)]);
}
