using SafeHaven.Core;

namespace SafeHaven.Actuators;

/// <summary>Result of one core-level move.</summary>
/// <param name="Succeeded">True when every thread was verified on the requested CPUs.</param>
/// <param name="Cpus">The CPU list every thread is allowed on, as verified from /proc; null when the move failed before verification.</param>
/// <param name="Error">Why the move failed; null on success.</param>
/// <param name="PhasesNs">Phase name (<c>enrol</c>, <c>cpuset</c>, <c>affinity</c>, <c>verify</c>) → duration in ns, for the phases that ran.</param>
public sealed record CoreMoveOutcome(bool Succeeded, CpuList? Cpus, string? Error, IReadOnlyDictionary<string, long> PhasesNs)
{
    /// <summary>Sum of all phase durations, ns.</summary>
    public long TotalNs => PhasesNs.Values.Sum();
}
