using System.Buffers;
using System.Globalization;
using System.Text;

namespace SafeHaven.Probes.Proc;

/// <summary>
/// Reads the /proc files of processes. Every reader returns null instead of throwing when the
/// process vanished meanwhile: processes exit at any moment, and that is no error.
/// </summary>
public sealed class ProcFs
{
    /// <summary>The real /proc.</summary>
    public static ProcFs Default { get; } = new("/proc");

    /// <summary>Creates a reader rooted at <paramref name="root"/> (a copy of /proc in tests).</summary>
    public ProcFs(string root) => Root = root;

    /// <summary>The directory read as /proc.</summary>
    public string Root { get; }

    /// <summary>Numeric entries of /proc: the pids of all processes (thread group leaders).</summary>
    public IEnumerable<int> ListPids() => ListNumeric(Root);

    /// <summary>Thread ids of <paramref name="pid"/>; empty when it is gone.</summary>
    public IEnumerable<int> ListTasks(int pid) => ListNumeric(Path.Combine(Root, Num(pid), "task"));

    /// <summary>Parsed /proc/PID/stat, or null when gone or unreadable.</summary>
    public ProcStat? ReadStat(int pid) => ParseStat(TryRead(Path.Combine(Root, Num(pid), "stat")));

    /// <summary>Parsed /proc/PID/task/TID/stat, or null when gone or unreadable.</summary>
    public ProcStat? ReadTaskStat(int pid, int tid) =>
        ParseStat(TryRead(Path.Combine(Root, Num(pid), "task", Num(tid), "stat")));

    /// <summary>Text of /proc/PID/status, or null.</summary>
    public string? ReadStatus(int pid) => TryRead(Path.Combine(Root, Num(pid), "status"));

    /// <summary>Text of /proc/PID/cgroup, or null.</summary>
    public string? ReadCgroup(int pid) => TryRead(Path.Combine(Root, Num(pid), "cgroup"));

    /// <summary>Identity of <paramref name="pid"/> (comm, start time, container), or null when gone.</summary>
    public ProcessIdentity? ReadIdentity(int pid)
    {
        if (ReadStat(pid) is not { } stat)
        {
            return null;
        }
        string? cgroup = ReadCgroup(pid);
        return new ProcessIdentity(pid, stat.Comm, stat.StartTime, cgroup is null ? null : ContainerIds.FromCgroupFile(cgroup));
    }

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

    private static ProcStat? ParseStat(string? text) =>
        text is not null && ProcStat.TryParse(text, out var stat) ? stat : null;

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

    private static string? TryRead(string path)
    {
        try
        {
            // Every period reads stat and cgroup of every process: a handle and one pooled buffer cost
            // less than File.ReadAllText's stream and reader (/proc files are ASCII but for names).
            using var handle = File.OpenHandle(path);
            byte[] buffer = ArrayPool<byte>.Shared.Rent(4096);
            try
            {
                int total = 0, n;
                while ((n = RandomAccess.Read(handle, buffer.AsSpan(total), total)) > 0)
                {
                    total += n;
                    if (total == buffer.Length)
                    {
                        byte[] larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, total).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }
                }
                return Encoding.UTF8.GetString(buffer, 0, total);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // ENOENT and ESRCH both surface here: the process exited between listing and reading.
            return null;
        }
    }
}

/// <summary>Who a process is: pid plus start time tells a reused pid apart.</summary>
/// <param name="Pid">Process id.</param>
/// <param name="Comm">Command name from /proc/PID/stat.</param>
/// <param name="StartTime">Start time in clock ticks since boot (stat field 22).</param>
/// <param name="Container">Container id from /proc/PID/cgroup, or null.</param>
public sealed record ProcessIdentity(int Pid, string Comm, long StartTime, string? Container)
{
    /// <summary>VM name when the process is a QEMU guest (see <see cref="QemuCommandLine"/>), or null.</summary>
    public string? Vm { get; init; }

    /// <summary>The process as an <see cref="Schemas.EntityRef"/> of <paramref name="datacenter"/>/<paramref name="host"/>.</summary>
    public Schemas.EntityRef ToEntity(string datacenter, string host) => new()
    {
        datacenter = datacenter,
        host = host,
        pid = Pid,
        comm = Comm,
        container = Container,
        vm = Vm,
        startTime = StartTime,
    };
}
