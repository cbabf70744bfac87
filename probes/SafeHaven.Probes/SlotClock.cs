using SafeHaven.Probes.Perf;

namespace SafeHaven.Probes;

/// <summary>Waits of the sampling loops that run on threads of their own (round-robin slots, fine ticks).</summary>
internal static class SlotClock
{
    /// <summary>Blocks until <paramref name="dueTs"/> (a timestamp of <paramref name="time"/>) or cancellation.</summary>
    public static void WaitUntil(TimeProvider time, long dueTs, CancellationToken cancellationToken)
    {
        var remaining = time.GetElapsedTime(time.GetTimestamp(), dueTs);
        if (time != TimeProvider.System)
        {
            // A test's clock: only its own timers know when its time comes. It may already have passed the
            // deadline (advanced while this thread worked), which Task.Delay would refuse.
            Task.Delay(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, time, cancellationToken).GetAwaiter().GetResult();
            return;
        }
        // Long waits: coarse and cancellable (a WaitHandle wakes within about a millisecond),
        // stopping 2 ms early. Short ones (5 ms slots) skip it: one wake-up per slot instead of
        // two, and cancellation waits at most 20 ms. Then an exact sleep to the deadline.
        var coarse = remaining - TimeSpan.FromMilliseconds(2);
        if (remaining > TimeSpan.FromMilliseconds(20) && cancellationToken.WaitHandle.WaitOne(coarse))
        {
            cancellationToken.ThrowIfCancellationRequested();
        }
        PerfNative.SleepFor(time.GetElapsedTime(time.GetTimestamp(), dueTs));
    }
}
