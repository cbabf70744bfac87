using SafeHaven.StreamProcessors.Planning;

namespace SafeHaven.StreamProcessors.Tests.Planning;

/// <summary>
/// <see cref="PlannerInbox"/>: another thread's work runs on the planner's thread (where <see cref="PlannerInbox.Drain"/>
/// is called), and work the planner did not start in time is withdrawn, never run late behind a timeout.
/// </summary>
public sealed class PlannerInboxTests
{
    [Fact]
    public async Task Work_runs_on_the_thread_that_drains_and_its_result_reaches_the_caller()
    {
        var inbox = new PlannerInbox();
        int? ranOn = null;
        var caller = Task.Run(() => inbox.TryInvoke(() => ranOn = Environment.CurrentManagedThreadId, TimeSpan.FromSeconds(30), out var r) ? r : null);
        using var stop = new CancellationTokenSource();
        var planner = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                inbox.Drain();
                Thread.Yield();
            }
        });
        planner.Start();
        var result = await caller;
        await stop.CancelAsync();
        planner.Join();
        Assert.Equal(planner.ManagedThreadId, ranOn);
        Assert.Equal(planner.ManagedThreadId, result);
    }

    [Fact]
    public void Work_the_planner_did_not_start_in_time_is_withdrawn_and_never_runs()
    {
        var inbox = new PlannerInbox();
        var ran = false;
        Assert.False(inbox.TryInvoke(() => ran = true, TimeSpan.FromMilliseconds(50), out _));
        inbox.Drain();
        Assert.False(ran);
    }

    [Fact]
    public async Task A_failure_reaches_the_caller_and_stops_the_planner_loop()
    {
        var inbox = new PlannerInbox();
        var caller = Task.Run(() => inbox.TryInvoke<int>(() => throw new InvalidDataException("ledger record not acknowledged"), TimeSpan.FromSeconds(30), out _));
        await Poll.Require(() =>
        {
            try
            {
                inbox.Drain();
                return false;
            }
            catch (InvalidDataException)
            {
                return true;
            }
        }, "the failure on the draining thread", 30);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => caller);
        Assert.Contains("ledger record not acknowledged", e.Message, StringComparison.Ordinal);
    }
}
