using System.Buffers;
using System.Globalization;
using System.Text;

namespace SafeHaven.Linux;

/// <summary>
/// Reads the /proc files of processes, for the probe and the actuators alike. The <c>Read*</c> and
/// <c>List*</c> readers return null or empty instead of throwing when the process vanished meanwhile:
/// processes exit at any moment, and that is no error. The actuators' checks (<see cref="StartTime"/>,
/// <see cref="ThreadIds"/>) validate the pid and throw <see cref="ProcessGoneException"/> instead.
/// </summary>
public sealed partial class ProcFs
{
    // The root as the open(2) path prefix (ProcFile): encoded once, not per read.
    private readonly byte[] _rootUtf8;

    /// <summary>The real /proc.</summary>
    public static ProcFs Default { get; } = new("/proc");

    /// <summary>Creates a reader rooted at <paramref name="root"/> (a copy of /proc in tests).</summary>
    public ProcFs(string root)
    {
        ArgumentNullException.ThrowIfNull(root);
        Root = root;
        _rootUtf8 = Encoding.UTF8.GetBytes(root.TrimEnd('/'));
    }

    /// <summary>The directory read as /proc.</summary>
    public string Root { get; }

    /// <summary>Numeric entries of /proc: the pids of all processes (thread group leaders).</summary>
    public IEnumerable<int> ListPids() => ListNumeric(Root);

    /// <summary>Thread ids of <paramref name="pid"/>; empty when it is gone.</summary>
    public IEnumerable<int> ListTasks(int pid) => ListNumeric(Path.Combine(Root, Num(pid), "task"));

    /// <summary>Parsed /proc/PID/stat, or null when gone or unreadable.</summary>
    public ProcStat? ReadStat(int pid) => ReadStatOf(pid, 0);

    /// <summary>Parsed /proc/PID/task/TID/stat, or null when gone or unreadable.</summary>
    public ProcStat? ReadTaskStat(int pid, int tid) => tid == 0 ? null : ReadStatOf(pid, tid);

    /// <summary>Text of /proc/PID/status, or null.</summary>
    public string? ReadStatus(int pid) => ReadText(pid, "status"u8);

    /// <summary>Text of /proc/PID/cgroup, or null.</summary>
    public string? ReadCgroup(int pid) => ReadText(pid, "cgroup"u8);

    /// <summary>The last pid the kernel allocated (/proc/sys/kernel/ns_last_pid), or null.</summary>
    public int? ReadLastPid() =>
        int.TryParse(TryRead(Path.Combine(Root, "sys", "kernel", "ns_last_pid"))?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int p) ? p : null;

    /// <summary>Value of one <c>Key:   value</c> line of a /proc status file.</summary>
    public static long? StatusField(string statusText, string key)
    {
        foreach (string line in statusText.Split('\n'))
        {
            if (line.Length > key.Length && line[key.Length] == ':' && line.StartsWith(key, StringComparison.Ordinal)
                && long.TryParse(line.AsSpan(key.Length + 1).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long v))
            {
                return v;
            }
        }
        return null;
    }

    // The probe reads stat (twice, with discovery) and cgroup of every process every period: straight
    // from the file into a pooled buffer, parsed from the bytes (docs/PERFORMANCE.md, 2026-12-05).
    private ProcStat? ReadStatOf(int pid, int tid)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(1024);
        try
        {
            int n = ProcFile.Read(_rootUtf8, pid, tid, "stat"u8, ref buffer);
            return n >= 0 && ProcStat.TryParse(buffer.AsSpan(0, n), out var stat) ? stat : null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private string? ReadText(int pid, ReadOnlySpan<byte> name)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            int n = ProcFile.Read(_rootUtf8, pid, 0, name, ref buffer);
            return n >= 0 ? Encoding.UTF8.GetString(buffer, 0, n) : null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static string Num(int n) => n.ToString(CultureInfo.InvariantCulture);

    private static List<int> ListNumeric(string dir)
    {
        string[] entries;
        try
        {
            entries = Directory.GetDirectories(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
        var ids = new List<int>(entries.Length);
        foreach (string entry in entries)
        {
            if (int.TryParse(Path.GetFileName(entry.AsSpan()), NumberStyles.None, CultureInfo.InvariantCulture, out int id))
            {
                ids.Add(id);
            }
        }
        return ids;
    }

    private static string? TryRead(string path) => FileText.TryRead(path);
}
