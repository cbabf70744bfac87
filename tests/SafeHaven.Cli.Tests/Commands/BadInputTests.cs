namespace SafeHaven.Cli.Tests.Commands;

/// <summary>Bad usage and bad input exit with 2 and a message naming the problem (docs/DESIGN.md §6).</summary>
public sealed class BadInputTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Unknown_flag_exits_2_and_names_it()
    {
        var run = await CliRunner.RunAsync(Timeout, "demo", "--no-such-flag");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--no-such-flag", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_verb_exits_2()
    {
        var run = await CliRunner.RunAsync(Timeout, "frobnicate");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("frobnicate", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Malformed_rules_file_exits_2_with_file_and_line()
    {
        using var rules = new CliRunner.TempFile("""
            rules:
              - name: a
                counter: context-switches
                threshold: -5
                scope: core
            """);
        var run = await CliRunner.RunAsync(Timeout, "detect", "--bootstrap", "127.0.0.1:1", "--rules", rules.Path);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains($"{rules.Path}:4:", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("threshold must be > 0", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_counter_in_rules_exits_2_naming_it()
    {
        using var rules = new CliRunner.TempFile("""
            rules:
              - name: a
                counter: bogus-events
                threshold: 5
                scope: core
            """);
        var run = await CliRunner.RunAsync(Timeout, "detect", "--bootstrap", "127.0.0.1:1", "--rules", rules.Path);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains($"{rules.Path}:3:", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("unknown counter 'bogus-events'", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_counter_on_the_probe_command_line_exits_2()
    {
        var run = await CliRunner.RunAsync(Timeout, "probe", "--stdout", "--counters", "nonsense", "--duration", "1s");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("nonsense", run.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("4096", "does not exist")]
    [InlineData("1-0", "not a CPU or CPU range")]
    [InlineData("0;rm", "not a CPU or CPU range")]
    public async Task Isolation_cpus_that_do_not_exist_exit_2(string cpus, string message)
    {
        var run = await CliRunner.RunAsync(Timeout, "actuate", "--bootstrap", "127.0.0.1:1", "--isolation-cpus", cpus);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(message, run.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("actuate")]
    [InlineData("container")]
    [InlineData("hypervisor")]
    public async Task A_network_segment_that_is_not_a_token_exits_2(string verb)
    {
        var run = await CliRunner.RunAsync(Timeout, verb, "--bootstrap", "127.0.0.1:1", "--network-segment", "rack 1;rm");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--network-segment must be a token", run.Stderr + run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Isolation_pool_of_every_cpu_exits_2()
    {
        var all = $"0-{Environment.ProcessorCount - 1}";
        var run = await CliRunner.RunAsync(Timeout, "actuate", "--bootstrap", "127.0.0.1:1", "--isolation-cpus", all);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(Environment.ProcessorCount < 2 ? "at least 2 online CPUs" : "no shared CPU", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_duration_exits_2()
    {
        var run = await CliRunner.RunAsync(Timeout, "broker", "--duration", "soon");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("'soon' is not a duration", run.Stderr, StringComparison.Ordinal);
    }
}
