namespace SafeHaven.StreamProcessors.Detection;

/// <summary>
/// Decides when a detector instance that held partitions and then lost every one of them should leave its consumer
/// group and join it afresh (issue 13). A Streamiz stream thread that was fenced (an offset commit refused while the
/// group re-formed after a member's death) unsubscribes and resubscribes on the same consumer; on the embedded broker
/// that consumer was seen to get no assignment again while the process stayed up, and the stream stayed RUNNING (a
/// healthy rejoin goes REBALANCING within milliseconds of the fence).
/// The first rejoin comes after <see cref="StallAfter"/> without a partition, or <see cref="RunningEmptyAfter"/> without
/// one while the stream claims to be running; if the new member gets none either, the waits double up to
/// <see cref="MaxWait"/>, and they are back to their first values once partitions are held.
/// An instance that never held a partition (more instances than partitions) is left alone; one that lost all of its
/// partitions to newcomers costs the group a rebalance at those growing intervals. Time is passed in: no OS calls here.
/// </summary>
/// <param name="stallAfter">How long an instance may hold no partition, after having held some, before it rejoins.</param>
/// <param name="runningEmptyAfter">The same while the stream is not rebalancing (the stalled state); shorter.</param>
/// <param name="maxWait">The longest wait between rejoins of an instance that keeps getting nothing.</param>
public sealed class PartitionWatchdog(TimeSpan stallAfter, TimeSpan runningEmptyAfter, TimeSpan maxWait)
{
    private bool _armed;
    private int _factor = 1;
    private long _assignments;
    private TimeSpan? _emptySince;
    private TimeSpan? _runningEmptySince;

    /// <summary>How long an instance may hold no partition, after having held some, before it first rejoins.</summary>
    public TimeSpan StallAfter { get; } = stallAfter;

    /// <summary>How long an instance may hold no partition while its stream is not rebalancing before it first rejoins.</summary>
    public TimeSpan RunningEmptyAfter { get; } = runningEmptyAfter;

    /// <summary>The longest wait between rejoins of an instance that keeps getting nothing.</summary>
    public TimeSpan MaxWait { get; } = maxWait;

    /// <summary>
    /// Records that the instance holds <paramref name="partitions"/> at <paramref name="now"/> (any monotonic clock),
    /// whether its stream is <paramref name="rebalancing"/>, and how many <paramref name="assignments"/> its consumers
    /// have received so far (an assignment between two looks counts as holding partitions); true when it should rejoin now.
    /// </summary>
    public bool Observe(int partitions, bool rebalancing, long assignments, TimeSpan now)
    {
        var assigned = assignments != _assignments;
        _assignments = assignments;
        if (partitions > 0 || assigned)
        {
            _armed = true;
            _factor = 1;
            // Assigned and lost again between two looks: the empty spell starts now.
            _emptySince = partitions > 0 ? null : now;
            _runningEmptySince = partitions > 0 || rebalancing ? null : now;
            return false;
        }
        if (!_armed)
        {
            return false;
        }
        _emptySince ??= now;
        _runningEmptySince = rebalancing ? null : _runningEmptySince ?? now;
        var stalled = now - _emptySince.Value >= Scaled(StallAfter)
            || (_runningEmptySince is { } since && now - since >= Scaled(RunningEmptyAfter));
        if (!stalled)
        {
            return false;
        }
        _emptySince = now;
        _runningEmptySince = rebalancing ? null : now;
        _factor = (int)Math.Min(_factor * 2L, 1 << 20);
        return true;
    }

    private TimeSpan Scaled(TimeSpan wait) => TimeSpan.FromTicks(Math.Min(wait.Ticks * _factor, Math.Max(wait.Ticks, MaxWait.Ticks)));
}
