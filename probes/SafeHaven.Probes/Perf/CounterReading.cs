namespace SafeHaven.Probes.Perf;

/// <summary>Whether a read found the process alive.</summary>
public enum CounterReadOutcome
{
    /// <summary>The process is alive; the values cover the window since the previous read.</summary>
    Ok,
    /// <summary>The process exited (or its pid now belongs to another process); the values are its last partial window.</summary>
    ProcessGone,
}

/// <summary>One read of a process's perf counters.</summary>
/// <param name="Outcome">Whether the process is still there.</param>
/// <param name="Values">Counter name → events since the previous read (multiplexing-scaled); only counters whose status is ok.</param>
public sealed record CounterReading(CounterReadOutcome Outcome, IReadOnlyDictionary<string, long> Values);
