namespace SafeHaven.Cli.Tests.Commands;

public sealed class SimulateCommandTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("--hosts", "0", "--hosts must be 1..1000000")]
    [InlineData("--period", "0s", "--period")]
    [InlineData("--datacenters", "9", "--datacenters must be 1..64 and at most --hosts")]
    [InlineData("--counter", "bogus", "--counter 'bogus'")]
    [InlineData("--host-prefix", "a/b", "--host-prefix 'a/b'")]
    public async Task Bad_flags_exit_2_naming_the_flag(string flag, string value, string message)
    {
        string[] args = ["simulate", "--bootstrap", "127.0.0.1:1", "--hosts", "4", "--processes", "2", "--duration", "1s"];
        var run = await CliRunner.RunAsync(Timeout, [.. args.Where((a, i) => a != flag && (i == 0 || args[i - 1] != flag)), flag, value]);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(message, run.Stderr, StringComparison.Ordinal);
        Assert.Equal("", run.Stdout);
    }

    [Fact]
    public async Task Without_bootstrap_it_exits_2()
    {
        var run = await CliRunner.RunAsync(Timeout, "simulate", "--hosts", "4", "--processes", "2");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--bootstrap", run.Stderr, StringComparison.Ordinal);
    }
}
