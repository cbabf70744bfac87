using System.Diagnostics;
using SafeHaven.Actuators.Host.Cpu;

namespace SafeHaven.Actuators.Tests.Host.Cpu;

public sealed class ProtectedProcessesTests
{
    [Fact]
    public void Init_the_agent_itself_and_kernel_threads_are_protected_and_an_ordinary_child_is_not()
    {
        Assert.Equal("pid 1 (init) is never moved", ProtectedProcesses.Why(1));
        Assert.Equal("the agent's own process is never moved", ProtectedProcesses.Why(Environment.ProcessId));
        // kthreadd is pid 2 on Linux; every kernel thread descends from it.
        Assert.Equal("pid 2 is a kernel thread", ProtectedProcesses.Why(2));

        using var sleeper = Process.Start(new ProcessStartInfo("/bin/sleep", "30"))!;
        try
        {
            Assert.Null(ProtectedProcesses.Why(sleeper.Id));
        }
        finally
        {
            sleeper.Kill();
        }
    }
}
