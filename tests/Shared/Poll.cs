using System.Diagnostics;

namespace SafeHaven.Tests;

/// <summary>
/// The one poll-with-deadline helper of every test project (linked in by tests/Directory.Build.props): tests wait for a
/// condition, never for a fixed time, and fail naming what they waited for.
/// </summary>
public static class Poll
{
    /// <summary>Calls <paramref name="step"/> every 10 ms until it returns true or <paramref name="deadline"/> passes.</summary>
    public static async Task<bool> Until(Func<bool> step, TimeSpan deadline)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < deadline)
        {
            if (step())
            {
                return true;
            }
            // Short asynchronous waits: blocking pool threads would delay the code under test's own timers.
            await Task.Delay(10);
        }
        return step();
    }

    /// <summary>
    /// Awaits <paramref name="step"/> every <paramref name="every"/> (default 10 ms) until it returns true or
    /// <paramref name="deadline"/> passes: for a condition that does I/O (an HTTP scrape), which blocking inside
    /// <see cref="Until(Func{bool}, TimeSpan)"/> would hold a pool thread for.
    /// </summary>
    public static async Task<bool> Until(Func<Task<bool>> step, TimeSpan deadline, TimeSpan? every = null)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < deadline)
        {
            if (await step())
            {
                return true;
            }
            await Task.Delay(every ?? TimeSpan.FromMilliseconds(10));
        }
        return await step();
    }

    /// <summary>Polls until <paramref name="condition"/> holds; fails the test with <paramref name="what"/> otherwise.</summary>
    public static async Task Require(Func<bool> condition, string what, double seconds = 10) =>
        Assert.True(await Until(condition, TimeSpan.FromSeconds(seconds)), $"timed out waiting for: {what}");

    /// <summary>
    /// Polls <paramref name="probe"/> until it returns a value; fails the test with <paramref name="what"/> (evaluated
    /// then, so it can show the latest logs) after <paramref name="deadline"/>.
    /// </summary>
    public static async Task<T> For<T>(Func<T?> probe, TimeSpan deadline, Func<string> what) where T : class
    {
        T? value = null;
        Assert.True(await Until(() => (value = probe()) is not null, deadline), $"timed out after {deadline.TotalSeconds:F0} s waiting for: {what()}");
        return value!;
    }
}
