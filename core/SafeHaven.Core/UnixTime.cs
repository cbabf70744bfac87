namespace SafeHaven.Core;

/// <summary>
/// Wall-clock instants as the records carry them: nanoseconds since the Unix epoch (<c>*AtNs</c>,
/// <c>windowEndNs</c>, ...). The clock is always a <see cref="TimeProvider"/> passed in, never read here.
/// </summary>
public static class UnixTime
{
    /// <summary><paramref name="time"/>'s current instant in nanoseconds since the Unix epoch (100 ns resolution).</summary>
    public static long NowNs(this TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        return ToUnixNs(time.GetUtcNow());
    }

    /// <summary><paramref name="instant"/> in nanoseconds since the Unix epoch (100 ns resolution).</summary>
    public static long ToUnixNs(this DateTimeOffset instant) => (instant - DateTimeOffset.UnixEpoch).Ticks * 100;
}
