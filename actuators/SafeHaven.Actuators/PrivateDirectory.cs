using System.Runtime.InteropServices;

namespace SafeHaven.Actuators;

/// <summary>
/// Directories whose contents an agent running as root acts on (QMP sockets, registries, images, journals):
/// created 0700 when missing, and refused when they exist but another user could have planted files in them
/// (owned by someone else, or writable by group or others), since <c>mkdir</c> keeps an existing directory as it is.
/// </summary>
public static partial class PrivateDirectory
{
    /// <summary>Creates <paramref name="path"/> (and parents) mode 0700 if missing, then checks it.</summary>
    /// <exception cref="InvalidOperationException">The directory is not this user's alone; the message says why.</exception>
    public static string Ensure(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("agents run on Linux only");
        }
        Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return Problem(path) is { } problem ? throw new InvalidOperationException(problem) : path;
    }

    /// <summary>Null when <paramref name="path"/> is a real directory owned by this user that only its owner may write; else why not.</summary>
    public static string? Problem(string path)
    {
        var info = new DirectoryInfo(path);
        if (!info.Exists || info.LinkTarget is not null)
        {
            return $"{path} is not a directory (or is a symbolic link)";
        }
        if ((info.UnixFileMode & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
        {
            return $"{path} is writable by group or others (mode {Convert.ToString((int)info.UnixFileMode, 8)}): another user could plant files an agent acts on as root";
        }
        var owner = Owner(path);
        var me = GetEffectiveUserId();
        return owner == me ? null : $"{path} belongs to uid {owner}, not to this agent's uid {me}";
    }

    // struct stat differs by architecture: st_uid sits at byte 28 on x86_64 and at byte 24 on arm64 (generic layout).
    private static unsafe uint Owner(string path)
    {
        var offset = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 28,
            Architecture.Arm64 => 24,
            var other => throw new PlatformNotSupportedException($"no struct stat layout known for {other}"),
        };
        var buffer = stackalloc byte[256];
        if (Stat(path, buffer) != 0)
        {
            throw new IOException($"stat {path} failed: errno {Marshal.GetLastPInvokeError()}");
        }
        return *(uint*)(buffer + offset);
    }

    [LibraryImport("libc", EntryPoint = "stat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int Stat(string path, byte* buffer);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEffectiveUserId();
}
