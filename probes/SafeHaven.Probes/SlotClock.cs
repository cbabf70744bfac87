using SafeHaven.Probes.Perf;

namespace SafeHaven.Probes;

/// <summary>
/// How the sampling loops that run on threads of their own (round-robin slots, fine ticks) wait for a timestamp
/// of their <see cref="TimeProvider"/>. The strategy is injected with the clock (<see cref="Sampler"/>'s
/// constructor), so the loops have one path whatever the clock: <see cref="Precise"/> for a clock that runs by
/// itself, <see cref="OnTimers"/> for one that moves only when told (a test's FakeTimeProvider).
/// </summary>
internal abstract class SlotClock(TimeProvider time)
{
    /// <summary>The clock whose timestamps the waits take.</summary>
    public TimeProvider Time { get; } = time;

    /// <summary>
    /// True when an overflow signal can end a wait early: the fine-tick loop may then sleep to the regular tick.
    /// False where time moves only through the clock's own timers, which no signal can reach: there the loop
    /// collects the signals at every fine tick instead.
    /// </summary>
    public abstract bool SignalsWake { get; }

    /// <summary>
    /// Waits that follow the real passage of time, stopping within microseconds of the deadline (the probe's slots
    /// may be 5 ms): for <see cref="TimeProvider.System"/> or any provider whose timestamps run by themselves.
    /// </summary>
    public static SlotClock Precise(TimeProvider time) => new PreciseSlotClock(time);

    /// <summary>Waits through the provider's own timers (<see cref="Task.Delay(TimeSpan, TimeProvider, CancellationToken)"/>).</summary>
    public static SlotClock OnTimers(TimeProvider time) => new TimerSlotClock(time);

    /// <summary>Blocks until <paramref name="dueTs"/> (a timestamp of <see cref="Time"/>) or cancellation.</summary>
    public abstract void WaitUntil(long dueTs, CancellationToken cancellationToken);

    /// <summary>
    /// Waits until <paramref name="dueTs"/> or, where <see cref="SignalsWake"/>, an overflow signal, and collects
    /// the overflows pending then into <paramref name="overflowed"/>.
    /// </summary>
    public abstract void WaitForSignals(OverflowSignals signals, long dueTs, List<int> overflowed, out bool lost, CancellationToken cancellationToken);

    private TimeSpan Remaining(long dueTs) => Time.GetElapsedTime(Time.GetTimestamp(), dueTs);

    private sealed class PreciseSlotClock(TimeProvider time) : SlotClock(time)
    {
        public override bool SignalsWake => true;

        public override void WaitUntil(long dueTs, CancellationToken cancellationToken)
        {
            // Long waits: coarse and cancellable (a WaitHandle wakes within about a millisecond),
            // stopping 2 ms early. Short ones (5 ms slots) skip it: one wake-up per slot instead of
            // two, and cancellation waits at most 20 ms. Then an exact sleep to the deadline.
            var remaining = Remaining(dueTs);
            var coarse = remaining - TimeSpan.FromMilliseconds(2);
            if (remaining > TimeSpan.FromMilliseconds(20) && cancellationToken.WaitHandle.WaitOne(coarse))
            {
                cancellationToken.ThrowIfCancellationRequested();
            }
            PerfNative.SleepFor(Remaining(dueTs));
        }

        public override void WaitForSignals(OverflowSignals signals, long dueTs, List<int> overflowed, out bool lost, CancellationToken cancellationToken) =>
            signals.Wait((long)((Int128)(dueTs - Time.GetTimestamp()) * 1_000_000_000 / Time.TimestampFrequency), overflowed, out lost);
    }

    private sealed class TimerSlotClock(TimeProvider time) : SlotClock(time)
    {
        public override bool SignalsWake => false;

        public override void WaitUntil(long dueTs, CancellationToken cancellationToken)
        {
            // A timer is due its delay after the clock's time when it is armed, not when the delay was read: a clock
            // advanced in between (by a test's other thread) would leave it due after dueTs, and an advance to exactly
            // dueTs would never fire it, a lost wake-up. So the timer stands only if the clock did not move while it was
            // armed; otherwise it is dropped and armed again. (A clock that runs by itself would spin here: it waits with Precise.)
            while (true)
            {
                long before = Time.GetTimestamp();
                var remaining = Time.GetElapsedTime(before, dueTs);
                if (remaining <= TimeSpan.Zero)
                {
                    // Passed already (advanced while this thread worked): Task.Delay would refuse a negative delay.
                    return;
                }
                using var armed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var delay = Task.Delay(remaining, Time, armed.Token);
                if (Time.GetTimestamp() == before)
                {
                    delay.GetAwaiter().GetResult();
                    return;
                }
                armed.Cancel();
            }
        }

        public override void WaitForSignals(OverflowSignals signals, long dueTs, List<int> overflowed, out bool lost, CancellationToken cancellationToken)
        {
            WaitUntil(dueTs, cancellationToken);
            signals.Wait(0, overflowed, out lost);
        }
    }
}
