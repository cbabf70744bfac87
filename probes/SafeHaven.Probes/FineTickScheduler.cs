using SafeHaven.Probes.Perf;

namespace SafeHaven.Probes;

/// <summary>
/// The all-at-once sampling loop with early publication: a regular tick every period (every process
/// read and published, as without it) and, between them, a fine tick every
/// <see cref="ProbeOptions.FineTick"/> that peeks the counters rules watch and publishes the windows
/// that already guarantee a rule's rate (<see cref="Sampler.PublishEarly"/>).
/// </summary>
/// <remarks>
/// Both are scheduled from the start (t0 + k · period, t0 + j · tick), never from the previous tick's
/// end, so lateness does not drift; overdue fine ticks are dropped rather than raced through, and a
/// whole period lost restarts the phase. A dedicated thread, as RoundRobinScheduler's, because 50
/// awaited timer wake-ups a second would cost more than the peeks.
/// </remarks>
internal sealed class FineTickScheduler(Sampler sampler, TimeProvider time, TimeSpan period, TimeSpan fineTick, SlotTimings timings)
{
    /// <summary>Runs the ticks on a thread of their own until cancelled.</summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() => Run(cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken cancellationToken)
    {
        long periodTs = ToTs(period), fineTs = ToTs(fineTick);
        long t0 = time.GetTimestamp();
        long nextRegular = t0 + periodTs, nextFine = t0 + fineTs;
        long cpu = PerfNative.ThreadCpuNs();
        Guarded(() => sampler.SampleScheduled(nextRegular)); // opens the processes found now
        while (true)
        {
            bool regular = nextRegular <= nextFine;
            long due = regular ? nextRegular : nextFine;
            SlotClock.WaitUntil(time, due, cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            long now = time.GetTimestamp();
            if (regular)
            {
                timings.RecordStart(time.GetElapsedTime(due, now));
                long behind = now - nextRegular;
                if (behind >= periodTs)
                {
                    // The machine stalled for a whole period: restart the phase.
                    nextRegular += behind / periodTs * periodTs;
                    timings.RecordSkippedPeriods(behind / periodTs);
                }
                nextRegular += periodTs;
                Guarded(() => sampler.SampleScheduled(nextRegular));
            }
            else
            {
                Guarded(() => sampler.PublishEarly(nextRegular));
            }
            now = time.GetTimestamp();
            if (nextFine <= now)
            {
                nextFine += ((now - nextFine) / fineTs + 1) * fineTs;
            }
            // This thread does all the sampling: its CPU clock is the probe's whole cost.
            long cpuNow = PerfNative.ThreadCpuNs();
            timings.AddCpu(cpuNow - cpu);
            cpu = cpuNow;
        }
    }

    private long ToTs(TimeSpan span) => Math.Max(1, (long)((Int128)span.Ticks * time.TimestampFrequency / TimeSpan.TicksPerSecond));

    // A failed tick must not end the loop: it is logged and the next one runs on schedule.
    private void Guarded(Func<int> tick)
    {
        try
        {
            _ = tick();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            sampler.LogFailure(e);
        }
    }
}
