namespace SafeHaven.Actuators.Cpu;

/// <summary>Names of the errno values cgroup and scheduler calls return, for error messages.</summary>
internal static class Errno
{
    public const int EPERM = 1, ENOENT = 2, ESRCH = 3, EACCES = 13, EBUSY = 16, EEXIST = 17,
        ENODEV = 19, EINVAL = 22, ENOSPC = 28, ERANGE = 34, ENOTSUP = 95;

    public static string Name(int errno) => errno switch
    {
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        ESRCH => "ESRCH",
        EACCES => "EACCES",
        EBUSY => "EBUSY",
        EEXIST => "EEXIST",
        ENODEV => "ENODEV",
        EINVAL => "EINVAL",
        ENOSPC => "ENOSPC",
        ERANGE => "ERANGE",
        ENOTSUP => "ENOTSUP",
        _ => $"errno {errno}",
    };

    // .NET on Unix puts the raw errno into IOException.HResult for I/O errors it raises itself;
    // the "file not found" family carries no errno, so map those by type.
    public static int Of(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => ENOENT,
        UnauthorizedAccessException => EACCES,
        IOException io when io.HResult is > 0 and < 4096 => io.HResult,
        _ => 0,
    };
}
