using System.Globalization;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Cpu;

/// <summary>
/// The few /proc reads the core actuator needs. Every path is built from a validated pid or a
/// tid parsed as an integer, never from text that came from outside.
/// </summary>
public static class ProcFs
{
    /// <summary>True when /proc/PID exists (zombies included).</summary>
    public static bool Exists(int pid) => Directory.Exists(ProcessDir(pid));

    /// <summary>
    /// True when <paramref name="pid"/> exists and has not exited. A zombie (state Z or X) has: it only waits for its
    /// parent to reap it, which can take a while once it has been handed to init.
    /// </summary>
    public static bool IsLive(int pid)
    {
        try
        {
            var stat = File.ReadAllText(Path.Join(ProcessDir(pid), "stat"));
            var after = stat.LastIndexOf(')') + 2;
            return after < stat.Length && stat[after] is not ('Z' or 'X' or 'x');
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// Start time of <paramref name="pid"/> in clock ticks since boot (/proc/PID/stat field 22):
    /// with the pid, it tells a reused pid apart.
    /// </summary>
    /// <exception cref="ProcessGoneException">The process does not exist.</exception>
    public static long StartTime(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText(Path.Join(ProcessDir(pid), "stat"));
        }
        catch (Exception e) when (e is IOException)
        {
            throw new ProcessGoneException($"process {pid} does not exist (any more)", e);
        }
        // comm (field 2) may hold spaces and parentheses: count fields after the last ')'.
        var fields = stat[(stat.LastIndexOf(')') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        const int startTimeAfterComm = 22 - 3;
        if (fields.Length <= startTimeAfterComm
            || !long.TryParse(fields[startTimeAfterComm], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks))
        {
            throw new FormatException($"/proc/{pid}/stat has no start time field");
        }
        return ticks;
    }

    /// <summary>The thread ids of <paramref name="pid"/> right now.</summary>
    /// <exception cref="ProcessGoneException">The process does not exist.</exception>
    public static List<int> ThreadIds(int pid)
    {
        var tids = new List<int>();
        try
        {
            foreach (var dir in Directory.EnumerateDirectories(Path.Join(ProcessDir(pid), "task")))
            {
                if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var tid))
                {
                    tids.Add(tid);
                }
            }
        }
        catch (Exception e) when (e is IOException)
        {
            throw new ProcessGoneException($"process {pid} does not exist (any more)", e);
        }
        // An exiting process can briefly show an empty task directory.
        return tids.Count > 0 ? tids : throw new ProcessGoneException(pid);
    }

    /// <summary>Cpus_allowed_list of one thread, or null when the thread has gone.</summary>
    public static CpuList? ThreadCpusAllowed(int pid, int tid)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(Path.Join(ProcessDir(pid), "task", Tid(tid), "status"));
        }
        catch (Exception e) when (e is IOException)
        {
            return null;
        }
        foreach (var line in lines)
        {
            if (line.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal))
            {
                return CpuList.Parse(line["Cpus_allowed_list:".Length..]);
            }
        }
        throw new FormatException($"/proc/{pid}/task/{tid}/status has no Cpus_allowed_list");
    }

    private static string ProcessDir(int pid) =>
        "/proc/" + Identifiers.RequirePid(pid, nameof(pid)).ToString(CultureInfo.InvariantCulture);

    private static string Tid(int tid) =>
        Identifiers.RequirePid(tid, nameof(tid)).ToString(CultureInfo.InvariantCulture);
}
