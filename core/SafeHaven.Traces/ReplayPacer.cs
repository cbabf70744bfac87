namespace SafeHaven.Traces;

/// <summary>
/// When each trace entry is due at a replay speed: the first entry at once, every later one after its distance from the
/// first (by <see cref="TraceEntry.PaceNs"/>) divided by the speed. Entries out of time order are due at once. Pure:
/// elapsed time is a parameter.
/// </summary>
/// <param name="speed">Speed factor (1 = recorded speed); null replays as fast as possible.</param>
public sealed class ReplayPacer(double? speed)
{
    private long? _firstNs;

    /// <summary>The speed factor; null: as fast as possible.</summary>
    public double? Speed { get; } = speed is null or (> 0 and < double.PositiveInfinity)
        ? speed
        : throw new ArgumentOutOfRangeException(nameof(speed), speed, "a replay speed is a positive finite factor");

    /// <summary>How long to wait before sending an entry paced at <paramref name="paceNs"/>, <paramref name="elapsed"/> after the replay began.</summary>
    public TimeSpan Delay(long paceNs, TimeSpan elapsed)
    {
        _firstNs ??= paceNs;
        if (Speed is not { } s)
        {
            return TimeSpan.Zero;
        }
        var due = TimeSpan.FromTicks((long)((paceNs - _firstNs.Value) / 100.0 / s));
        return due > elapsed ? due - elapsed : TimeSpan.Zero;
    }
}
