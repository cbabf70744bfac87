namespace SafeHaven.Cli.Tests.Commands;

/// <summary><c>safehaven siem</c>: bad flags exit 2 naming what is wrong, before any broker is dialled.</summary>
public sealed class SiemCommandTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Theory]
    [InlineData("--siem-format", "xml", "--siem-format 'xml': expected ocsf or ecs")]
    [InlineData("--siem-cluster", "a b", "siem cluster 'a b' is not a valid id (from flag --siem-cluster)")]
    [InlineData("--cluster", "a/b", "--cluster: 'a/b' is not a valid id")]
    public async Task Bad_siem_flags_exit_2_naming_them(string flag, string value, string message)
    {
        var run = await CliRunner.RunAsync(Timeout, "siem", "--bootstrap", "127.0.0.1:9", flag, value);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(message, run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Siem_needs_a_bootstrap()
    {
        var run = await CliRunner.RunAsync(Timeout, "siem");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("siem needs --bootstrap", run.Stderr, StringComparison.Ordinal);
    }
}
