using System.Runtime.ExceptionServices;

namespace SafeHaven.Probes.Tests;

/// <summary>Runs a test body on a thread of its own: overflow signals are blocked on the thread that creates them, never a test-runner thread.</summary>
internal static class OwnThread
{
    /// <summary>Runs <paramref name="body"/> to its end on a new thread and rethrows what it threw.</summary>
    public static void Run(Action body)
    {
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                body();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        });
        thread.Start();
        thread.Join();
        failure?.Throw();
    }
}
