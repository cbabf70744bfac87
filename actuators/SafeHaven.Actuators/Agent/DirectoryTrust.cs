using System.Globalization;
using System.Runtime.InteropServices;

namespace SafeHaven.Actuators.Agent;

/// <summary>
/// Whether a state directory may be trusted by an agent that runs as root: it reads pids to signal and images to
/// restore there and deletes below it, so nobody but its own user may be able to add, swap or remove entries.
/// </summary>
internal static partial class DirectoryTrust
{
    private const int AtFdCwd = -100;
    private const uint StatxType = 0x1, StatxMode = 0x2, StatxUid = 0x8;
    private const int TypeMask = 0xF000, DirectoryType = 0x4000, GroupOrOtherWrite = 0x12;

    /// <summary>
    /// Null when <paramref name="dir"/> is missing (whoever creates it later creates it below a trusted parent, or
    /// is checked then) or is a directory owned by the effective user that neither its group nor others may write;
    /// else what is wrong with it. Symbolic links are followed: what counts is the directory used.
    /// </summary>
    public static string? Problem(string dir)
    {
        if (!OperatingSystem.IsLinux())
        {
            // Containers are run on Linux only (ContainerSite.CreatePrivate refuses elsewhere); statx is Linux's.
            return null;
        }
        if (Statx(AtFdCwd, dir, 0, StatxType | StatxMode | StatxUid, out var st) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno == Errno.ENOENT ? null : $"cannot be checked (statx: {Errno.Name(errno)})";
        }
        if ((st.Mode & TypeMask) != DirectoryType)
        {
            return "is not a directory";
        }
        var euid = GetEuid();
        if (st.Uid != euid)
        {
            return $"is owned by uid {st.Uid.ToString(CultureInfo.InvariantCulture)}, not by this agent's effective uid {euid.ToString(CultureInfo.InvariantCulture)}";
        }
        return (st.Mode & GroupOrOtherWrite) != 0
            ? $"is writable by its group or by others (mode {Convert.ToString(st.Mode & 0xFFF, 8)})"
            : null;
    }

    // The head of struct statx (linux/stat.h), the same on every architecture; the kernel writes 256 bytes.
    [StructLayout(LayoutKind.Sequential, Size = 256)]
    private struct StatxBuffer
    {
        public uint Mask;
        public uint BlockSize;
        public ulong Attributes;
        public uint Links;
        public uint Uid;
        public uint Gid;
        public ushort Mode;
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirFd, string path, int flags, uint mask, out StatxBuffer buffer);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();
}
