namespace SafeHaven.Cli.Tests.Top;

/// <summary>Bad usage of <c>top</c> exits 2 and names the problem, before any connection is tried.</summary>
public sealed class TopUsageTests
{
    [Theory]
    [InlineData("the live view is for terminals", "top", "--bootstrap", "127.0.0.1:1", "--json")]
    [InlineData("top needs --bootstrap", "top", "--once")]
    [InlineData("--refresh", "top", "--bootstrap", "127.0.0.1:1", "--refresh", "soon")]
    public async Task Bad_usage_exits_2_naming_the_problem(string said, params string[] args)
    {
        var run = await CliRunner.RunAsync(TimeSpan.FromSeconds(60), args);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(said, run.Stderr, StringComparison.Ordinal);
    }
}
