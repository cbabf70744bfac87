namespace SafeHaven.Probes.Perf;

/// <summary>Where a counter's values come from.</summary>
public enum CounterSource
{
    /// <summary>Kernel software event (PERF_TYPE_SOFTWARE).</summary>
    Software,
    /// <summary>Generic hardware event (PERF_TYPE_HARDWARE); needs a CPU PMU.</summary>
    Hardware,
    /// <summary>Raw PMU event (PERF_TYPE_RAW); needs a CPU PMU.</summary>
    Raw,
    /// <summary>Tracepoint (PERF_TYPE_TRACEPOINT), config = tracefs event id.</summary>
    Tracepoint,
    /// <summary>A field of /proc/PID/stat or /proc/PID/status, sampled as a delta.</summary>
    Proc,
}

/// <summary>
/// A resolved counter: the name as configured (and as published in <c>CounterSample.values</c>)
/// plus what to ask the kernel for.
/// </summary>
/// <param name="Name">Counter name exactly as configured; the key in published samples.</param>
/// <param name="Source">Kind of counter.</param>
/// <param name="Type">perf_event_attr.type (unused for <see cref="CounterSource.Proc"/>).</param>
/// <param name="Config">perf_event_attr.config (unused for <see cref="CounterSource.Proc"/>).</param>
/// <param name="ProcField">For <see cref="CounterSource.Proc"/>: the /proc field name; otherwise null.</param>
public readonly record struct PerfEventSpec(string Name, CounterSource Source, uint Type, ulong Config, string? ProcField = null)
{
    /// <summary>True when the counter is read through perf_event_open (not /proc).</summary>
    public bool IsPerf => Source != CounterSource.Proc;

    /// <summary>True when the kernel can only count it with a CPU PMU.</summary>
    public bool NeedsPmu => Source is CounterSource.Hardware or CounterSource.Raw;
}
