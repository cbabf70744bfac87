using System.Globalization;

namespace SafeHaven.Actuators.Host.Cpu;

/// <summary>
/// Processes the host agent never moves, whatever a signed command says: init, kernel threads, the agent itself
/// and any other SafeHaven role process running as the agent's user (the demo's <c>workload</c> verb excepted). The planner refuses them too; this is the last
/// line, for a planner key that leaked.
/// </summary>
public static class ProtectedProcesses
{
    /// <summary>Why <paramref name="pid"/> must not be moved, or null when it may be.</summary>
    public static string? Why(int pid)
    {
        if (pid == 1)
        {
            return "pid 1 (init) is never moved";
        }
        if (pid == Environment.ProcessId)
        {
            return "the agent's own process is never moved";
        }
        return Inspect(pid, Path.Join("/proc", pid.ToString(CultureInfo.InvariantCulture)));
    }

    /// <summary>
    /// Runs every read of <see cref="Why"/> once on the agent's own process (which <see cref="Why"/> refuses before reading
    /// anything), so the first real command does not pay for their JIT compilation (≈1–2 ms under load). Touches nothing.
    /// </summary>
    internal static void WarmUp() => _ = Inspect(Environment.ProcessId, "/proc/self");

    private static string? Inspect(int pid, string dir)
    {
        try
        {
            if (FileText.TryRead(Path.Join(dir, "stat")) is not { } text)
            {
                return null; // gone: the caller's own checks report it
            }
            if (ProcStat.TryParse(text, out var stat) && stat.IsKernelThread)
            {
                return $"pid {pid} is a kernel thread";
            }
            return IsSafeHaven(dir) ? $"pid {pid} is a SafeHaven process" : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // gone: the caller's own checks report it
        }
    }

    // Same executable, same entry assembly on its command line and the same owner as this agent. argv alone would
    // let any process claim to be SafeHaven and dodge isolation; the exe link and the owner are the kernel's word.
    private static bool IsSafeHaven(string dir)
    {
        var self = new FileInfo("/proc/self/exe").LinkTarget;
        var entry = System.Reflection.Assembly.GetEntryAssembly()?.Location;
        if (self is null || string.IsNullOrEmpty(entry) || new FileInfo(Path.Join(dir, "exe")).LinkTarget != self)
        {
            return false;
        }
        if (OwnerOf(dir) != OwnerOf("/proc/self"))
        {
            return false;
        }
        var argv = File.ReadAllText(Path.Join(dir, "cmdline")).Split('\0');
        var at = Array.IndexOf(argv, entry);
        // `safehaven workload` is the demo's synthetic load, there to be isolated: not part of SafeHaven's machinery.
        return at >= 0 && (at + 1 >= argv.Length || argv[at + 1] != "workload");
    }

    private static uint? OwnerOf(string dir)
    {
        foreach (var line in File.ReadLines(Path.Join(dir, "status")))
        {
            if (line.StartsWith("Uid:", StringComparison.Ordinal))
            {
                var f = line.Split('\t', StringSplitOptions.RemoveEmptyEntries);
                return f.Length > 1 && uint.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var uid) ? uid : null;
            }
        }
        return null;
    }
}
