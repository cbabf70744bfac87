using SafeHaven.Core;

namespace SafeHaven.Actuators.Host;

/// <summary>Result of one core-level move.</summary>
/// <param name="Succeeded">True when every thread was verified on the requested CPUs.</param>
/// <param name="Cpus">The CPU list every thread is allowed on, as verified from /proc; null when the move failed before verification.</param>
/// <param name="Error">Why the move failed; null on success.</param>
/// <param name="PhasesNs">Phase name (<c>check</c>, <c>enrol</c>, <c>cpuset</c>, <c>affinity</c>, <c>verify</c>) → duration in ns, for the phases that ran.</param>
public sealed record CoreMoveOutcome(bool Succeeded, CpuList? Cpus, string? Error, IReadOnlyDictionary<string, long> PhasesNs)
{
    /// <summary>
    /// True when an enrolment found the process isolated already and left it on <see cref="Cpus"/> (inside the isolation
    /// pool) instead of moving it to the shared CPUs.
    /// </summary>
    public bool AlreadyIsolated { get; init; }

    /// <summary>What happened, for people: "already isolated on CPUs N", "on CPUs N", or the error.</summary>
    public string Summary => AlreadyIsolated ? $"already isolated on CPUs {Cpus}" : Succeeded ? $"on CPUs {Cpus}" : $"failed: {Error}";

    /// <summary>Sum of all phase durations, ns.</summary>
    public long TotalNs => PhasesNs.Values.Sum();
}
