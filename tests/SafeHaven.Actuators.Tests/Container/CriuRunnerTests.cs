using SafeHaven.Actuators.Container;

namespace SafeHaven.Actuators.Tests.Container;

/// <summary>How every criu run is started: an argument list, the no-breakpoints fault, a bound on its time.</summary>
public sealed class CriuRunnerTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("shcriurun-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string Script(string body)
    {
        var path = Path.Join(_dir.FullName, "criu");
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        return path;
    }

    [Fact]
    public async Task Every_run_gets_the_no_breakpoints_fault_and_its_arguments_verbatim()
    {
        // Given a criu that prints its environment's fault and each argument on a line
        var criu = Script("""echo "fault=$CRIU_FAULT"; for a in "$@"; do echo "arg=$a"; done""");

        // When it runs with arguments a shell would expand
        var run = await CriuRunner.RunAsync(criu, ["dump", "$(id)", "a b;c"], TimeSpan.FromSeconds(30), CancellationToken.None);

        // Then criu 4.1 was told not to use hardware breakpoints, and no argument was interpreted
        Assert.True(run.Succeeded, run.Output);
        Assert.Equal(["fault=130", "arg=dump", "arg=$(id)", "arg=a b;c"], run.Output.Split('\n'));
    }

    [Fact]
    public async Task A_run_past_its_timeout_is_killed_and_says_so()
    {
        var criu = Script("echo started; exec /bin/sleep 600");

        var run = await CriuRunner.RunAsync(criu, ["dump"], TimeSpan.FromMilliseconds(300), CancellationToken.None);

        Assert.Equal(-1, run.ExitCode);
        Assert.StartsWith("killed after 0.3 s", run.Output, StringComparison.Ordinal);
    }
}
