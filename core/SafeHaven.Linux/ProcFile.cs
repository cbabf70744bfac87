using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;

namespace SafeHaven.Linux;

/// <summary>
/// Reads one small file of one process (<c>ROOT/PID/NAME</c> or <c>ROOT/PID/task/TID/NAME</c>) with
/// open(2), read(2) and close(2) straight into a pooled buffer. The probe reads stat and cgroup of every
/// process every period: <see cref="File.OpenHandle"/> adds an fstat and an flock per file, a path
/// string and a SafeHandle, and a vanished process costs an exception; here the path is built in a
/// stack buffer and a vanished process is a -1.
/// </summary>
internal static unsafe partial class ProcFile
{
    // Same values on x86_64 and on arm64's generic table.
    private const int ORdonly = 0, OCloexec = 0x80000, EIntr = 4;

    /// <summary>
    /// Bytes of the file into <paramref name="buffer"/> (a pooled array, replaced by a larger pooled one
    /// when the file does not fit: the caller returns whichever it holds at the end); -1 when the file is
    /// gone or unreadable.
    /// </summary>
    /// <param name="root">The /proc root, UTF-8, no trailing '/'.</param>
    /// <param name="pid">The process.</param>
    /// <param name="tid">A thread of it (its task directory), or 0 for the process's own files.</param>
    /// <param name="name">The file name, UTF-8.</param>
    /// <param name="buffer">Pooled buffer (<see cref="ArrayPool{T}.Shared"/>).</param>
    public static int Read(ReadOnlySpan<byte> root, int pid, int tid, ReadOnlySpan<byte> name, ref byte[] buffer)
    {
        // root + "/" + pid + "/task/" + tid + "/" + name + NUL; 11 bytes per number is enough for any int.
        int length = root.Length + name.Length + 2 * 11 + 16;
        byte[]? rented = null;
        Span<byte> path = length <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            int at = root.Length;
            root.CopyTo(path);
            path[at++] = (byte)'/';
            at += Format(pid, path[at..]);
            if (tid != 0)
            {
                "/task/"u8.CopyTo(path[at..]);
                at += 6;
                at += Format(tid, path[at..]);
            }
            path[at++] = (byte)'/';
            name.CopyTo(path[at..]);
            at += name.Length;
            path[at] = 0;
            fixed (byte* p = path)
            {
                return ReadAll(p, ref buffer);
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static int Format(int value, Span<byte> destination) =>
        value.TryFormat(destination, out int written, default, CultureInfo.InvariantCulture) ? written : 0;

    private static int ReadAll(byte* path, ref byte[] buffer)
    {
        int fd = Open(path, ORdonly | OCloexec);
        if (fd < 0)
        {
            // ENOENT, ESRCH (exited between listing and reading), EACCES (hidepid): not there for us.
            return -1;
        }
        try
        {
            int total = 0;
            while (true)
            {
                if (total == buffer.Length)
                {
                    byte[] larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, total).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                nint n;
                fixed (byte* b = &buffer[total])
                {
                    n = ReadFd(fd, b, buffer.Length - total);
                }
                if (n > 0)
                {
                    total += (int)n;
                }
                else if (n == 0)
                {
                    return total;
                }
                else if (Marshal.GetLastPInvokeError() != EIntr)
                {
                    return -1; // ESRCH: the process exited while its file was open
                }
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    // open(2) is variadic only for the mode of O_CREAT, which is not used: the fixed signature is exact.
    [LibraryImport("libc", EntryPoint = "open", SetLastError = true)]
    private static partial int Open(byte* path, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint ReadFd(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
