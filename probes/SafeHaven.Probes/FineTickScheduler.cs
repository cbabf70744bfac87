using SafeHaven.Probes.Perf;

namespace SafeHaven.Probes;

/// <summary>
/// The all-at-once sampling loop with early publication: a regular tick every period (every process
/// read and published, as without it) and, between them, the windows that already guarantee a rule's
/// rate are published (<see cref="Sampler.PublishEarly"/>). The kernel finds them when it can: rule
/// counters armed to overflow at the count that triggers signal this thread, which otherwise sleeps to
/// the next regular tick; a fine tick every <see cref="ProbeOptions.FineTick"/> reads the processes
/// overflow cannot cover, or every process when signals are unavailable.
/// </summary>
/// <remarks>
/// Both ticks are scheduled from the start (t0 + k · period, t0 + j · tick), never from the previous
/// tick's end, so lateness does not drift; overdue fine ticks are dropped rather than raced through, and
/// a whole period lost restarts the phase. A dedicated thread, as RoundRobinScheduler's: 50 awaited
/// timer wake-ups a second would cost more than the peeks, and overflow signals are delivered to it.
/// </remarks>
internal sealed class FineTickScheduler(Sampler sampler, SlotClock clock, TimeSpan period, TimeSpan fineTick, SlotTimings timings)
{
    private TimeProvider Time => clock.Time;

    /// <summary>Runs the ticks on a thread of their own until cancelled.</summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() => Run(cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken cancellationToken)
    {
        // The signals go to this thread, which must block them itself before any counter is armed.
        using var signals = OpenSignals();
        // Disposed first (reverse order): no wake-up can reach a closed eventfd.
        using var wake = signals is null ? default : cancellationToken.Register(signals.Wake);
        if (signals is not null)
        {
            sampler.StartOverflow(signals);
        }
        try
        {
            Loop(signals, cancellationToken);
        }
        finally
        {
            if (signals is not null)
            {
                sampler.StopOverflow();
            }
        }
    }

    private OverflowSignals? OpenSignals()
    {
        if (!sampler.WantsOverflow)
        {
            sampler.LogFineTickMode(fineTick.TotalMilliseconds, "off (ProbeOptions.OverflowWake is false)");
            return null;
        }
        var signals = OverflowSignals.TryCreate(out string problem);
        if (signals is null)
        {
            sampler.LogFineTickMode(fineTick.TotalMilliseconds, problem);
        }
        return signals;
    }

    private void Loop(OverflowSignals? signals, CancellationToken cancellationToken)
    {
        long periodTs = ToTs(period), fineTs = ToTs(fineTick);
        long t0 = Time.GetTimestamp();
        long nextRegular = t0 + periodTs, nextFine = t0 + fineTs;
        long cpu = PerfNative.ThreadCpuNs();
        var overflowed = new List<int>();
        Guarded(() => sampler.SampleScheduled(nextRegular)); // opens the processes found now
        while (true)
        {
            // With signals and nothing for the fine tick, sleep to the regular tick; a clock that signals cannot
            // wake (SlotClock.SignalsWake) has the signals collected at every fine tick instead.
            bool fine = signals is null || !clock.SignalsWake || sampler.NeedsFineTick;
            long due = fine ? Math.Min(nextRegular, nextFine) : nextRegular;
            bool lost = false;
            timings.CountWait();
            if (signals is null)
            {
                clock.WaitUntil(due, cancellationToken);
            }
            else
            {
                clock.WaitForSignals(signals, due, overflowed, out lost, cancellationToken);
            }
            cancellationToken.ThrowIfCancellationRequested();
            timings.CountWakeUp();
            if (overflowed.Count > 0 || lost)
            {
                Guarded(() => sampler.OnOverflow(overflowed, lost, nextRegular));
            }
            long now = Time.GetTimestamp();
            if (now >= nextRegular)
            {
                timings.RecordStart(Time.GetElapsedTime(nextRegular, now));
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
            else if (now >= nextFine && fine)
            {
                timings.CountFineTick();
                Guarded(() => sampler.PublishEarly(nextRegular));
            }
            now = Time.GetTimestamp();
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

    private long ToTs(TimeSpan span) => Math.Max(1, (long)((Int128)span.Ticks * Time.TimestampFrequency / TimeSpan.TicksPerSecond));

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
