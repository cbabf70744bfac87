using SafeHaven.Core;
using SafeHaven.Kafka.Telemetry;
using SafeHaven.Schemas;

namespace SafeHaven.StreamProcessors.MovingTarget;

/// <summary>
/// The overhead the moving-target scheduler causes: how many migrations it ordered, and how long
/// the moves took according to the actuators' results. Thread-safe; rounds, migrations and unplaced entities are
/// also recorded in the <c>SafeHaven.MovingTarget</c> meter.
/// </summary>
public sealed class MovingTargetMetrics
{
    private long _rounds;
    private long _migrations;
    private long _unplaced;
    private long _succeeded;
    private long _notSucceeded;
    private long _totalMoveNs;

    /// <summary>Periods elapsed (rounds run).</summary>
    public long Rounds => Interlocked.Read(ref _rounds);

    /// <summary>Migration commands issued.</summary>
    public long Migrations => Interlocked.Read(ref _migrations);

    /// <summary>Entity-rounds without a command: no actuator or pool known, or no spare CPU.</summary>
    public long Unplaced => Interlocked.Read(ref _unplaced);

    /// <summary>Results read back for the scheduler's commands.</summary>
    public long Results => Succeeded + NotSucceeded;

    /// <summary>Moves the actuators carried out (status succeeded, not dry runs).</summary>
    public long Succeeded => Interlocked.Read(ref _succeeded);

    /// <summary>Results that were failed, rejected or skipped (dry runs included).</summary>
    public long NotSucceeded => Interlocked.Read(ref _notSucceeded);

    /// <summary>Sum of the successful moves' durations (finished minus started).</summary>
    public TimeSpan TotalMoveTime => TimeSpan.FromTicks(Interlocked.Read(ref _totalMoveNs) / 100);

    /// <summary>Mean duration of a successful move in milliseconds; 0 before the first.</summary>
    public double MeanMoveMs => Succeeded == 0 ? 0 : Interlocked.Read(ref _totalMoveNs) / 1e6 / Succeeded;

    internal void Round()
    {
        Interlocked.Increment(ref _rounds);
        SafeHavenMetrics.MovingTargetRound();
    }

    internal void Issued()
    {
        Interlocked.Increment(ref _migrations);
        SafeHavenMetrics.MovingTargetIssued();
    }

    internal void NotPlaced()
    {
        Interlocked.Increment(ref _unplaced);
        SafeHavenMetrics.MovingTargetNotPlaced();
    }

    /// <summary>Records one result of a command this scheduler issued.</summary>
    internal void Record(IsolationResult result)
    {
        if (result.status == ResultStatus.Succeeded && !result.dryRun)
        {
            // Clock steps could make the difference negative; such a move counts, its time does not.
            Interlocked.Add(ref _totalMoveNs, Math.Max(0, result.finishedAtNs - result.startedAtNs));
            Interlocked.Increment(ref _succeeded);
        }
        else
        {
            Interlocked.Increment(ref _notSucceeded);
        }
    }
}
