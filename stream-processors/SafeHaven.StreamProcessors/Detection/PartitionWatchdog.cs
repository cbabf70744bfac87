namespace SafeHaven.StreamProcessors.Detection;

/// <summary>
/// Decides when a detector instance that held partitions and then lost every one of them should leave its consumer
/// group and join it afresh (issue 13). A Streamiz stream thread that was fenced (an offset commit refused while the
/// group re-formed after a member's death) unsubscribes and resubscribes on the same consumer; on the embedded broker
/// that consumer was seen to get no assignment again while the process stayed up.
/// The first rejoin comes after <see cref="StallAfter"/> without a partition; if the new member gets none either, the
/// wait doubles up to <see cref="MaxWait"/>, and it is back to <see cref="StallAfter"/> once partitions are held.
/// An instance that never held a partition (more instances than partitions) is left alone; one that lost all of its
/// partitions to newcomers costs the group a rebalance at those growing intervals. Time is passed in: no OS calls here.
/// </summary>
/// <param name="stallAfter">How long an instance may hold no partition, after having held some, before it rejoins.</param>
/// <param name="maxWait">The longest wait between rejoins of an instance that keeps getting nothing.</param>
public sealed class PartitionWatchdog(TimeSpan stallAfter, TimeSpan maxWait)
{
    private bool _armed;
    private TimeSpan _wait = stallAfter;
    private TimeSpan? _emptySince;

    /// <summary>How long an instance may hold no partition, after having held some, before it first rejoins.</summary>
    public TimeSpan StallAfter { get; } = stallAfter;

    /// <summary>The longest wait between rejoins of an instance that keeps getting nothing.</summary>
    public TimeSpan MaxWait { get; } = maxWait;

    /// <summary>
    /// Records that the instance holds <paramref name="partitions"/> at <paramref name="now"/> (any monotonic clock);
    /// true when it should rejoin now.
    /// </summary>
    public bool Observe(int partitions, TimeSpan now)
    {
        if (partitions > 0)
        {
            _armed = true;
            _wait = StallAfter;
            _emptySince = null;
            return false;
        }
        if (!_armed)
        {
            return false;
        }
        _emptySince ??= now;
        if (now - _emptySince.Value < _wait)
        {
            return false;
        }
        _emptySince = now;
        _wait = TimeSpan.FromTicks(Math.Min(_wait.Ticks * 2, MaxWait.Ticks));
        return true;
    }
}
