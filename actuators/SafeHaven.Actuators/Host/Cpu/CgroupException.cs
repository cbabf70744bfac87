namespace SafeHaven.Actuators.Host.Cpu;

/// <summary>
/// A cgroup file operation failed. The message names the file, the value written and the
/// kernel's errno (EINVAL, ESRCH, EBUSY…), because that errno is usually the whole diagnosis.
/// </summary>
public sealed class CgroupException : IOException
{
    /// <summary>Creates the exception.</summary>
    public CgroupException() { }

    /// <summary>Creates the exception with a message.</summary>
    public CgroupException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the I/O error behind it.</summary>
    public CgroupException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Creates the exception with a message, the I/O error behind it and its errno.</summary>
    public CgroupException(string message, Exception inner, int errno) : base(message, inner) => Errno = errno;

    /// <summary>The kernel's errno, or 0 when unknown.</summary>
    public int Errno { get; }
}
