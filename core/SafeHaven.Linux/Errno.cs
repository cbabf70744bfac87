namespace SafeHaven.Linux;

/// <summary>The errno values SafeHaven's system calls and /proc and cgroup writes report, and their names for messages.</summary>
public static class Errno
{
    /// <summary>Linux errno numbers (asm-generic/errno-base.h and errno.h; identical on x86_64 and arm64).</summary>
    public const int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, E2BIG = 7, EACCES = 13, EBUSY = 16, EEXIST = 17,
        ENODEV = 19, EINVAL = 22, EMFILE = 24, ENOSPC = 28, ERANGE = 34, ENOSYS = 38, EOPNOTSUPP = 95, ENOTSUP = EOPNOTSUPP;

    /// <summary>Symbolic name of <paramref name="errno"/>, or "errno N" for one not listed.</summary>
    public static string Name(int errno) => errno switch
    {
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        ESRCH => "ESRCH",
        EINTR => "EINTR",
        E2BIG => "E2BIG",
        EACCES => "EACCES",
        EBUSY => "EBUSY",
        EEXIST => "EEXIST",
        ENODEV => "ENODEV",
        EINVAL => "EINVAL",
        EMFILE => "EMFILE",
        ENOSPC => "ENOSPC",
        ERANGE => "ERANGE",
        ENOSYS => "ENOSYS",
        // ENOTSUP is the same number on Linux; the kernel's own name is EOPNOTSUPP.
        EOPNOTSUPP => "EOPNOTSUPP",
        _ => $"errno {errno}",
    };

    /// <summary>The errno behind an exception .NET raised for a file operation, or 0 when unknown.</summary>
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
