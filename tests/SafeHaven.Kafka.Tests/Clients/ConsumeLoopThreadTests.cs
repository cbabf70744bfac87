using SafeHaven.Kafka.Clients;

namespace SafeHaven.Kafka.Tests.Clients;

/// <summary>Blocking loops get threads of their own, so they cannot starve the pool that async work runs on.</summary>
public sealed class ConsumeLoopThreadTests
{
    [Fact]
    public async Task Blocking_loops_run_off_the_pool_however_many_there_are()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var release = new ManualResetEventSlim();
        // Given more blocking loops than the pool starts with threads
        ThreadPool.GetMinThreads(out var minWorkers, out _);
        var loops = new List<Task<bool>>();
        try
        {
            for (var i = 0; i < minWorkers + 2; i++)
            {
                loops.Add(ConsumeLoop.OnOwnThread(() =>
                {
                    var onPool = Thread.CurrentThread.IsThreadPoolThread;
                    release.Wait(deadline.Token);
                    return onPool;
                }, deadline.Token));
            }
        }
        finally
        {
            // Released before `release` is disposed, whatever happened: no loop is left waiting on it.
            release.Set();
        }

        // Then none of them took a pool thread
        Assert.All(await Task.WhenAll(loops), onPool => Assert.False(onPool));
    }

    [Fact]
    public async Task A_loop_cancelled_before_it_starts_never_runs()
    {
        var ran = false;
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var loop = ConsumeLoop.OnOwnThread(() => ran = true, cancelled.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => loop);
        Assert.False(ran);
    }
}
