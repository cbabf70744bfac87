using System.Globalization;
using SafeHaven.Core;

namespace SafeHaven.Linux;

// The checks the actuators make before and after moving a process. Their pids arrive in commands,
// so each is validated before it becomes part of a path.
public sealed partial class ProcFs
{
    /// <summary>True when /proc/PID exists (zombies included).</summary>
    public bool Exists(int pid) => Directory.Exists(ProcessDir(pid));

    /// <summary>
    /// True when <paramref name="pid"/> exists and has not exited. A zombie (state Z or X) has: it only waits for its
    /// parent to reap it, which can take a while once it has been handed to init.
    /// </summary>
    public bool IsLive(int pid) => State(pid) is { } s && s is not ('Z' or 'X' or 'x');

    /// <summary>The state letter of /proc/PID/stat (R, S, T, Z, ...), or null when the process is gone.</summary>
    public char? State(int pid) =>
        TryRead(Path.Join(ProcessDir(pid), "stat")) is { } text && ProcStat.TryParse(text, out var stat) ? stat.State : null;

    /// <summary>
    /// Start time of <paramref name="pid"/> in clock ticks since boot (/proc/PID/stat field 22):
    /// with the pid, it tells a reused pid apart.
    /// </summary>
    /// <exception cref="ProcessGoneException">The process does not exist.</exception>
    /// <exception cref="FormatException">The stat line has no start time.</exception>
    public long StartTime(int pid)
    {
        var text = TryRead(Path.Join(ProcessDir(pid), "stat")) ?? throw new ProcessGoneException(pid);
        return ProcStat.TryParse(text, out var stat)
            ? stat.StartTime
            : throw new FormatException($"/proc/{pid}/stat has no start time field");
    }

    /// <summary>The thread ids of <paramref name="pid"/> right now.</summary>
    /// <exception cref="ProcessGoneException">The process does not exist.</exception>
    public List<int> ThreadIds(int pid)
    {
        var tids = ListNumeric(Path.Join(ProcessDir(pid), "task"));
        // An exiting process can briefly show an empty task directory.
        return tids.Count > 0 ? tids : throw new ProcessGoneException(pid);
    }

    /// <summary>Cpus_allowed_list of one thread, or null when the thread has gone.</summary>
    /// <exception cref="FormatException">The status file has no Cpus_allowed_list line.</exception>
    public CpuList? ThreadCpusAllowed(int pid, int tid)
    {
        if (TryRead(Path.Join(ProcessDir(pid), "task", Tid(tid), "status")) is not { } status)
        {
            return null;
        }
        foreach (var line in status.Split('\n'))
        {
            if (line.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal))
            {
                return CpuList.Parse(line["Cpus_allowed_list:".Length..]);
            }
        }
        throw new FormatException($"/proc/{pid}/task/{tid}/status has no Cpus_allowed_list");
    }

    /// <summary>Direct children of every thread of <paramref name="pid"/>; empty when it is gone.</summary>
    public List<int> Children(int pid)
    {
        var kids = new List<int>();
        foreach (var tid in ListNumeric(Path.Join(ProcessDir(pid), "task")))
        {
            var text = TryRead(Path.Join(ProcessDir(pid), "task", Tid(tid), "children")) ?? "";
            foreach (var part in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var child))
                {
                    kids.Add(child);
                }
            }
        }
        return kids;
    }

    /// <summary>The NUL-separated argv of /proc/PID/cmdline, or null when the process is gone.</summary>
    public string? ReadCmdline(int pid) => TryRead(Path.Join(ProcessDir(pid), "cmdline"));

    private string ProcessDir(int pid) =>
        Path.Join(Root, Identifiers.RequirePid(pid, nameof(pid)).ToString(CultureInfo.InvariantCulture));

    private static string Tid(int tid) =>
        Identifiers.RequirePid(tid, nameof(tid)).ToString(CultureInfo.InvariantCulture);
}
