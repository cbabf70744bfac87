namespace SafeHaven.Core.Rules;

/// <summary>
/// One detection rule: an entity whose <see cref="Counter"/> rate exceeds <see cref="Threshold"/>
/// events/s for <see cref="Sustain"/> consecutive samples is detected, at most once per
/// <see cref="Cooldown"/>, and is hot until its rate falls below <see cref="ClearBelow"/>.
/// </summary>
/// <param name="Name">Unique rule name.</param>
/// <param name="Counter">Counter name as the probe publishes it.</param>
/// <param name="Threshold">ε in events per second; strictly above it counts.</param>
/// <param name="Scope">Channel scope: core, machine, vm or hypervisor.</param>
/// <param name="Sustain">Consecutive above-threshold samples before the rule fires (≥ 1).</param>
/// <param name="Cooldown">No second detection for the same entity meanwhile.</param>
/// <param name="ClearBelow">Hysteresis: the entity stops being hot below this rate (≤ threshold).</param>
/// <param name="Line">Line of the rule in its file, for messages.</param>
/// <param name="ReleaseAfter">
/// Lift the isolation once the entity's rate stayed below <see cref="ClearBelow"/> this long (sample time);
/// null keeps it until the entity exits.
/// </param>
public sealed record Rule(
    string Name,
    string Counter,
    double Threshold,
    string Scope,
    int Sustain,
    TimeSpan Cooldown,
    double ClearBelow,
    int Line = 0,
    TimeSpan? ReleaseAfter = null);

/// <summary>A validated set of rules, as loaded from one file.</summary>
/// <param name="Rules">Rules in file order, names unique.</param>
/// <param name="Source">File the rules came from, for messages.</param>
public sealed record RuleSet(IReadOnlyList<Rule> Rules, string Source)
{
    /// <summary>Distinct counters the rules watch, for the probe's configuration.</summary>
    public IReadOnlyList<string> Counters => [.. Rules.Select(r => r.Counter).Distinct(StringComparer.Ordinal)];
}

/// <summary>A rules file is not valid; the message names file, line and problem.</summary>
public sealed class RulesFormatException : Exception
{
    /// <summary>Creates the error for <paramref name="file"/>:<paramref name="line"/>.</summary>
    public RulesFormatException(string file, int line, string problem)
        : base($"{file}:{line}: {problem}")
    {
        File = file;
        LineNumber = line;
        Problem = problem;
    }

    /// <summary>The rules file.</summary>
    public string File { get; }

    /// <summary>1-based line of the problem.</summary>
    public int LineNumber { get; }

    /// <summary>What is wrong.</summary>
    public string Problem { get; }
}
