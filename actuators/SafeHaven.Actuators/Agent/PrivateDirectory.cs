namespace SafeHaven.Actuators.Agent;

/// <summary>
/// Directories whose contents an agent running as root acts on (QMP sockets, registries, images, journals):
/// created 0700 when missing, and refused when they exist but another user could have planted files in them
/// (owned by someone else, or writable by group or others), since <c>mkdir</c> keeps an existing directory as it is.
/// </summary>
public static class PrivateDirectory
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
        return DirectoryTrust.Problem(path) is { } problem ? $"{path} {problem}" : null;
    }
}
