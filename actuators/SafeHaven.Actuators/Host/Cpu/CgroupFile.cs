using System.Globalization;

namespace SafeHaven.Actuators.Host.Cpu;

/// <summary>
/// Reads and writes single cgroup control files. Each value goes in one write() on the exact
/// file, which is how cgroupfs expects it; failures carry the kernel's errno in the message.
/// </summary>
internal static class CgroupFile
{
    public static void Write(string path, string value)
    {
        try
        {
            File.WriteAllText(path, value);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var errno = Errno.Of(e);
            throw new CgroupException($"writing '{value}' to {path} failed: {Errno.Name(errno)} ({e.Message})", e, errno);
        }
    }

    public static void Write(string path, int value) => Write(path, value.ToString(CultureInfo.InvariantCulture));

    public static string Read(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var errno = Errno.Of(e);
            throw new CgroupException($"reading {path} failed: {Errno.Name(errno)} ({e.Message})", e, errno);
        }
    }

    /// <summary>The pids or tids listed one per line in a <c>tasks</c> or <c>cgroup.procs</c> file.</summary>
    public static List<int> ReadIds(string path)
    {
        var ids = new List<int>();
        foreach (var line in Read(path).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                ids.Add(id);
            }
        }
        return ids;
    }

    public static void MakeDirectory(string path)
    {
        try
        {
            Directory.CreateDirectory(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CgroupException($"creating cgroup {path} failed: {Errno.Name(Errno.Of(e))} ({e.Message})", e, Errno.Of(e));
        }
    }

    /// <summary>rmdir on a cgroup: its control files go with it; fails with EBUSY while tasks or children remain.</summary>
    public static void RemoveDirectory(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: false);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CgroupException($"removing cgroup {path} failed: {Errno.Name(Errno.Of(e))} ({e.Message})", e, Errno.Of(e));
        }
    }
}
