using System.Runtime.InteropServices;

namespace SafeHaven.Linux.Tests;

public sealed class ErrnoAndSyscallsTests
{
    [Theory]
    [InlineData(Errno.ESRCH, "ESRCH")]
    [InlineData(Errno.EMFILE, "EMFILE")]
    [InlineData(Errno.ERANGE, "ERANGE")]
    [InlineData(Errno.ENOTSUP, "EOPNOTSUPP")]
    [InlineData(Errno.ENOSYS, "ENOSYS")]
    [InlineData(4095, "errno 4095")]
    public void Names_the_errno_values_both_layers_report(int errno, string name) => Assert.Equal(name, Errno.Name(errno));

    [Fact]
    public void Maps_file_exceptions_to_their_errno()
    {
        Assert.Equal(Errno.ENOENT, Errno.Of(new FileNotFoundException()));
        Assert.Equal(Errno.EACCES, Errno.Of(new UnauthorizedAccessException()));
        Assert.Equal(Errno.EBUSY, Errno.Of(new IOException("busy", Errno.EBUSY)));
        Assert.Equal(0, Errno.Of(new InvalidOperationException()));
    }

    [Fact]
    public void Perf_event_open_number_is_known_only_where_it_was_checked()
    {
        Assert.Equal(298, Syscalls.PerfEventOpenFor(Architecture.X64));
        Assert.Equal(241, Syscalls.PerfEventOpenFor(Architecture.Arm64));
        Assert.Null(Syscalls.PerfEventOpenFor(Architecture.X86));
        Assert.Null(Syscalls.PerfEventOpenFor(Architecture.Arm));
        Assert.Equal(Syscalls.PerfEventOpenFor(RuntimeInformation.ProcessArchitecture), Syscalls.PerfEventOpen);
    }
}
