using SafeHaven.Kafka.Clients;

namespace SafeHaven.Kafka.Tests.Clients;

/// <summary>Blocking loops get threads of their own, so they cannot starve the pool that async work runs on.</summary>
public sealed class ConsumeLoopThreadTests
{
    [Fact]
    public async Task A_blocking_loop_runs_off_the_pool_and_leaves_the_pool_free()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var release = new ManualResetEventSlim();
        // Given more blocking loops than the pool has threads to start with
        ThreadPool.GetMinThreads(out var minWorkers, out _);
        var loops = Enumerable.Range(0, minWorkers + 2)
            .Select(_ => ConsumeLoop.OnOwnThread(() =>
            {
                var onPool = Thread.CurrentThread.IsThreadPoolThread;
                release.Wait(deadline.Token);
                return onPool;
            }, deadline.Token))
            .ToList();

        // When work needs a pool thread while they all block (on a starved pool it would wait for the pool to grow)
        var ranOnPool = await Task.Run(() => Thread.CurrentThread.IsThreadPoolThread, deadline.Token);
        release.Set();

        // Then none of the loops took a pool thread
        Assert.True(ranOnPool);
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
