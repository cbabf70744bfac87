namespace SafeHaven.Cli.Tests.Commands;

/// <summary><c>record</c> and <c>replay</c>: bad flags and bad trace files exit 2 with a message naming the problem, before any Kafka traffic.</summary>
public sealed class TraceCommandTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static string Bundled(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SafeHaven.sln")))
        {
            dir = dir.Parent;
        }
        return Path.Combine(dir?.FullName ?? throw new InvalidOperationException("repository root not found"), "tests", "traces", name);
    }

    [Theory]
    [InlineData("--speed", "fast", "--speed 'fast'")]
    [InlineData("--speed", "1e400", "--speed '1e400'")]
    [InlineData("--speed", "0", "--speed '0'")]
    public async Task Replay_with_a_bad_speed_exits_2(string flag, string value, string expected)
    {
        var run = await CliRunner.RunAsync(Timeout, "replay", Bundled("channel-switch.trace"), "--bootstrap", "127.0.0.1:1", flag, value);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(expected, run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replay_of_a_truncated_trace_exits_2_naming_the_file_and_the_cut()
    {
        var bytes = File.ReadAllBytes(Bundled("channel-switch.trace"));
        var path = Path.Combine(Path.GetTempPath(), $"cut-{Guid.NewGuid():N}.trace");
        try
        {
            File.WriteAllBytes(path, bytes[..(bytes.Length - 50)]);
            var run = await CliRunner.RunAsync(Timeout, "replay", path, "--bootstrap", "127.0.0.1:1");
            Assert.Equal(2, run.ExitCode);
            Assert.Contains($"{path}: truncated", run.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Replay_of_a_file_that_is_not_a_trace_exits_2()
    {
        using var file = new CliRunner.TempFile("{\"type\": \"record\"}");
        var run = await CliRunner.RunAsync(Timeout, "replay", file.Path, "--bootstrap", "127.0.0.1:1");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("not an Avro object container file", run.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--codec", "lz4", "--codec 'lz4'")]
    [InlineData("--include", "commands", "--include: unknown kind 'commands'")]
    [InlineData("--from", "yesterday", "--from 'yesterday'")]
    public async Task Record_with_a_bad_flag_exits_2(string flag, string value, string expected)
    {
        var run = await CliRunner.RunAsync(Timeout, "record", "--bootstrap", "127.0.0.1:1", "--out", Path.Combine(Path.GetTempPath(), $"x-{Guid.NewGuid():N}.trace"), flag, value);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(expected, run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Record_refuses_to_overwrite_a_trace_without_force()
    {
        using var existing = new CliRunner.TempFile("keep me");
        var run = await CliRunner.RunAsync(Timeout, "record", "--bootstrap", "127.0.0.1:1", "--out", existing.Path);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("the file exists (--force overwrites it)", run.Stderr, StringComparison.Ordinal);
        Assert.Equal("keep me", File.ReadAllText(existing.Path));
    }
}
