namespace SafeHaven.Actuators.Host;

/// <summary>Whether this machine has the mechanism of an isolation level; the agent announces the level only when it does.</summary>
/// <param name="Level">The level (<c>smt</c>, <c>llc</c>, <c>numa</c>).</param>
/// <param name="Available">True when the mechanism works here.</param>
/// <param name="Reason">What was found: the exact missing mechanism (file and value, errno) or what makes it work.</param>
public sealed record LevelSupport(string Level, bool Available, string Reason)
{
    /// <summary>One line for logs and test skips: "LEVEL: available (…)" or "LEVEL: not announced: …".</summary>
    public override string ToString() => Available ? $"{Level}: available ({Reason})" : $"{Level}: not announced: {Reason}";
}
