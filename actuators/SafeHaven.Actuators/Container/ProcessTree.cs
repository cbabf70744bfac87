using System.Runtime.InteropServices;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Container;

/// <summary>A container's processes as /proc shows them, and the signals that stop, resume or end them.</summary>
internal static partial class ProcessTree
{
    public const int SigKill = 9, SigCont = 18;

    /// <summary>The process and its descendants, parents first (empty when it is gone).</summary>
    public static List<int> Of(int root)
    {
        var found = new List<int>();
        var queue = new Queue<int>([root]);
        while (queue.Count > 0 && found.Count < 100_000)
        {
            var pid = queue.Dequeue();
            if (!ProcFs.Default.Exists(pid) || found.Contains(pid))
            {
                continue;
            }
            found.Add(pid);
            foreach (var child in ProcFs.Default.Children(pid))
            {
                queue.Enqueue(child);
            }
        }
        return found;
    }

    /// <summary>True while <paramref name="pid"/> is the process that started at <paramref name="startTime"/> and not a zombie.</summary>
    public static bool IsAlive(int pid, long startTime)
    {
        try
        {
            return ProcFs.Default.StartTime(pid) == startTime && ProcFs.Default.State(pid) is { } s && s is not ('Z' or 'X');
        }
        catch (Exception e) when (e is ProcessGoneException or FormatException)
        {
            return false;
        }
    }

    /// <summary>Sends <paramref name="signal"/> to each pid; the ones already gone are skipped.</summary>
    public static void Signal(IEnumerable<int> pids, int signal)
    {
        foreach (var pid in pids)
        {
            if (Kill(Identifiers.RequirePid(pid, nameof(pid)), signal) != 0 && Marshal.GetLastPInvokeError() != Errno.ESRCH)
            {
                throw new IOException($"kill({pid}, {signal}) failed: {Errno.Name(Marshal.GetLastPInvokeError())}");
            }
        }
    }

    /// <summary>Like <see cref="Signal"/>, for the paths that must go on and report: false when a kill failed.</summary>
    public static bool TrySignal(IEnumerable<int> pids, int signal)
    {
        try
        {
            Signal(pids, signal);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Waits until none of <paramref name="pids"/> exists any more (zombies count as gone); false on timeout.</summary>
    public static async Task<bool> WaitGoneAsync(IReadOnlyCollection<int> pids, TimeSpan timeout, CancellationToken ct)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(timeout);
        try
        {
            while (pids.Any(p => ProcFs.Default.State(p) is { } s && s is not ('Z' or 'X')))
            {
                await Task.Delay(5, bound.Token).ConfigureAwait(false);
            }
            return true;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
