namespace SafeHaven.StreamProcessors.Detection;

/// <summary>
/// Decides when a detector instance that held partitions and then lost every one of them for <see cref="StallAfter"/>
/// should leave its consumer group and join it afresh (issue 13). A Streamiz stream thread that was fenced (a refused
/// offset commit while the group re-formed after a member's death) unsubscribes and resubscribes on the same consumer,
/// and on the embedded broker that consumer was seen to get no assignment again while the process stayed up.
/// An instance that never held a partition (more instances than partitions) is left alone, and the decision re-arms
/// only once partitions are held again, so an idle instance costs the group at most one extra rebalance.
/// Time is passed in: the caller's clock, no OS calls here.
/// </summary>
/// <param name="stallAfter">How long an instance may hold no partition, after having held some, before it rejoins.</param>
public sealed class PartitionWatchdog(TimeSpan stallAfter)
{
    private bool _held;
    private TimeSpan? _emptySince;

    /// <summary>How long an instance may hold no partition, after having held some, before it rejoins.</summary>
    public TimeSpan StallAfter { get; } = stallAfter;

    /// <summary>
    /// Records that the instance holds <paramref name="partitions"/> at <paramref name="now"/> (any monotonic clock);
    /// true when it should rejoin now. After a true answer the watchdog starts over as for a fresh instance.
    /// </summary>
    public bool Observe(int partitions, TimeSpan now)
    {
        if (partitions > 0)
        {
            _held = true;
            _emptySince = null;
            return false;
        }
        if (!_held)
        {
            return false;
        }
        _emptySince ??= now;
        if (now - _emptySince.Value < StallAfter)
        {
            return false;
        }
        _held = false;
        _emptySince = null;
        return true;
    }
}
