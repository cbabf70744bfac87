using System.Diagnostics;
using System.Globalization;
using SafeHaven.Cli.Tests.Commands;

namespace SafeHaven.Cli.Tests.Telemetry;

/// <summary>Waits of the scrape tests: a condition polled on a running role, and signals sent to a process.</summary>
internal static class RoleWait
{
    /// <summary>
    /// Polls <paramref name="condition"/> every 50 ms until it holds, failing early (with the role's stderr) if the role
    /// exits. Every 50 ms, not 10: each scrape makes the role collect every instrument, on the 2 CPUs the role runs on.
    /// </summary>
    public static async Task Until(Func<Task<bool>> condition, Func<string> what, RoleProcess role, TimeSpan deadline)
    {
        var met = false;
        await Poll.Until(async () => role.Process.HasExited || (met = await condition()), deadline, TimeSpan.FromMilliseconds(50));
        Assert.False(role.Process.HasExited, $"the role exited {(role.Process.HasExited ? role.Process.ExitCode : 0)} waiting for {what()}; stderr:\n{role.Stderr}");
        Assert.True(met, $"timed out after {deadline.TotalSeconds} s waiting for {what()}; the role's stderr:\n{role.Stderr}");
    }

    /// <summary>Sends <paramref name="signal"/> (STOP, CONT, …) to <paramref name="target"/> with /bin/kill.</summary>
    public static async Task Signal(Process target, string signal)
    {
        using var kill = Process.Start("/bin/kill", ["-" + signal, target.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>The process's state letter from /proc (T: stopped), or null once it is gone.</summary>
    public static char? State(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0];
        }
        catch (IOException)
        {
            return null;
        }
    }
}
