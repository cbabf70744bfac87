using SafeHaven.Probes.Perf;

namespace SafeHaven.Probes;

/// <summary>
/// Round-robin sampling as in Falzon and Bodden's original system: with n watched processes and at
/// most m counted at once, each period is cut into k = ⌈n / m⌉ slots of period / k, and every process
/// is counted during exactly one slot per period (m = 1 gives the original period / #processes).
/// With n ≤ m there is one slot: every process counts all the time and is read once per period.
/// </summary>
/// <remarks>
/// Slot starts are scheduled from the period start (t0 + i · period / k), never from the previous
/// slot's end, so lateness does not accumulate into drift. A late slot still lasts at least half a
/// slot: the schedule catches up over the following slots instead of publishing slivers of windows
/// whose rates would be mostly noise.
/// </remarks>
internal sealed class RoundRobinScheduler(Sampler sampler, SlotClock clock, TimeSpan period, int maxConcurrent, SlotTimings timings)
{
    private TimeProvider Time => clock.Time;

    /// <summary>Runs the slots on a thread of their own until cancelled.</summary>
    /// <remarks>
    /// A dedicated thread, because a slot may be 5 ms: an awaited timer costs a hop from the timer
    /// thread to the pool, whose workers spin before they sleep, and that spinning, 200 times a
    /// second, cost more CPU than the sampling itself.
    /// </remarks>
    public Task RunAsync(CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() => Run(cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken cancellationToken)
    {
        long periodTs = (long)((Int128)period.Ticks * Time.TimestampFrequency / TimeSpan.TicksPerSecond);
        // The first discovery opens every process: the schedule starts after it, not during it.
        sampler.Refresh();
        long t0 = Time.GetTimestamp();
        long earliest = t0;
        IReadOnlyList<WatchedProcess> counting = [];
        long cpu = PerfNative.ThreadCpuNs();
        while (true)
        {
            var groups = Plan(sampler.Snapshot(), maxConcurrent);
            int k = groups.Count;
            long halfSlot = periodTs / k / 2;
            for (int i = 0; i < k; i++)
            {
                long due = t0 + (periodTs * i / k);
                long now = Time.GetTimestamp();
                long wakeAt = Math.Max(due, earliest);
                if (wakeAt > now)
                {
                    clock.WaitUntil(wakeAt, cancellationToken);
                    now = Time.GetTimestamp();
                }
                cancellationToken.ThrowIfCancellationRequested();
                timings.RecordStart(Time.GetElapsedTime(due, now));
                counting = sampler.SwitchSlot(counting, groups[i]);
                // This thread does all the sampling: its CPU clock is the probe's whole cost.
                long cpuNow = PerfNative.ThreadCpuNs();
                timings.AddCpu(cpuNow - cpu);
                cpu = cpuNow;
                earliest = now + halfSlot;
                if (i == 0)
                {
                    // New processes join the next period's plan. Discovery runs while slot 0
                    // counts; when it outlasts a slot, slot 0 runs long and the next ones catch up.
                    sampler.Refresh();
                }
            }
            t0 += periodTs;
            long behind = Time.GetTimestamp() - t0;
            if (behind > periodTs)
            {
                // A whole period lost (the machine stalled): restart the phase rather than race
                // through overdue slots.
                t0 += behind / periodTs * periodTs;
                timings.RecordSkippedPeriods(behind / periodTs);
            }
        }
    }

    /// <summary>
    /// Cuts <paramref name="processes"/> (pid order, so a process keeps its slot while the set is
    /// stable) into k = ⌈n / max⌉ groups of near-equal size; max 0 means one group. Never empty: with
    /// no process there is one empty group, so the loop still ticks once per period.
    /// </summary>
    internal static IReadOnlyList<IReadOnlyList<T>> Plan<T>(IReadOnlyList<T> processes, int max)
    {
        int n = processes.Count;
        int k = max <= 0 || n <= max ? 1 : (n + max - 1) / max;
        var groups = new List<IReadOnlyList<T>>(k);
        for (int i = 0; i < k; i++)
        {
            int from = (int)((long)i * n / k), to = (int)((long)(i + 1) * n / k);
            groups.Add([.. processes.Skip(from).Take(to - from)]);
        }
        return groups;
    }
}
