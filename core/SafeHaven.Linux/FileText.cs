using System.Buffers;
using System.Text;

namespace SafeHaven.Linux;

/// <summary>Reads small kernel files (/proc, /sys) that may vanish at any moment.</summary>
public static class FileText
{
    /// <summary>
    /// The text of <paramref name="path"/>, or null when it is gone or unreadable: a process or a CPU
    /// that disappears between listing and reading is no error.
    /// </summary>
    public static string? TryRead(string path)
    {
        try
        {
            // The probe reads stat and cgroup of every process each period: a handle and one pooled buffer
            // cost less than File.ReadAllText's stream and reader (/proc files are ASCII but for names).
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
