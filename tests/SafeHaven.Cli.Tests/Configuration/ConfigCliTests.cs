using System.Diagnostics;

namespace SafeHaven.Cli.Tests.Configuration;

/// <summary>
/// <c>--config</c> through the real CLI: every verb takes it, a bad file exits 2 naming key and file before the verb
/// starts, and the precedence flags &gt; environment &gt; file holds. <c>detect</c> validates its detector settings
/// before it looks for keys, so "needs --signing-key" shows that the settings passed.
/// </summary>
public sealed class ConfigCliTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private readonly CliRunner.TempFile _rules = new("""
        rules:
          - name: storm
            counter: context-switches
            threshold: 1000
            scope: core
        """);

    [Theory]
    [InlineData("topics")]
    [InlineData("plan")]
    [InlineData("probe")]
    [InlineData("top")]
    [InlineData("broker")]
    [InlineData("up")]
    public async Task A_bad_key_fails_every_verb_with_exit_2_naming_key_and_file(string verb)
    {
        using var file = new CliRunner.TempFile("SafeHaven:\n  Planner:\n    CommandTtl: \"00:00:10\"\n    CommandTTl2: 5\n");
        var run = await CliRunner.RunAsync(Timeout, verb, "--config", file.Path);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("SafeHaven:Planner:CommandTTl2", run.Stderr, StringComparison.Ordinal);
        Assert.Contains(file.Path, run.Stderr, StringComparison.Ordinal);
        Assert.Contains("unknown key", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_out_of_range_value_from_the_file_exits_2_naming_key_and_file()
    {
        using var file = new CliRunner.TempFile("SafeHaven:\n  Detector:\n    Threads: 99\n");
        var run = await Detect(file.Path, []);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("SafeHaven:Detector:Threads", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("got 99", run.Stderr, StringComparison.Ordinal);
        Assert.Contains(file.Path, run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_flag_given_overrides_the_file()
    {
        using var file = new CliRunner.TempFile("SafeHaven:\n  Detector:\n    Threads: 99\n");
        var run = await Detect(file.Path, [], "--threads", "2");
        Assert.Equal(2, run.ExitCode);
        Assert.DoesNotContain("Threads", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("--signing-key", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_environment_overrides_the_file_and_a_flag_overrides_the_environment()
    {
        using var file = new CliRunner.TempFile("SafeHaven:\n  Detector:\n    Threads: 99\n");
        var fixedByEnv = await Detect(file.Path, [("SAFEHAVEN__Detector__Threads", "3")]);
        Assert.DoesNotContain("Threads", fixedByEnv.Stderr, StringComparison.Ordinal);
        Assert.Contains("--signing-key", fixedByEnv.Stderr, StringComparison.Ordinal);

        var brokenByEnv = await Detect(file.Path, [("SAFEHAVEN__Detector__Threads", "77")]);
        Assert.Equal(2, brokenByEnv.ExitCode);
        Assert.Contains("got 77", brokenByEnv.Stderr, StringComparison.Ordinal);
        Assert.Contains("SAFEHAVEN__Detector__Threads", brokenByEnv.Stderr, StringComparison.Ordinal);

        var fixedByFlag = await Detect(file.Path, [("SAFEHAVEN__Detector__Threads", "77")], "--threads", "4");
        Assert.Contains("--signing-key", fixedByFlag.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Settings_from_the_file_reach_the_verb()
    {
        // The rules file comes from the file alone: without it detect would ask for --rules.
        using var file = new CliRunner.TempFile($"SafeHaven:\n  Detector:\n    RulesFile: {_rules.Path}\n  Kafka:\n    BootstrapServers: 127.0.0.1:1\n");
        var run = await RunAsync([], "detect", "--config", file.Path);
        Assert.Equal(2, run.ExitCode);
        Assert.DoesNotContain("--rules", run.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("--bootstrap", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("--signing-key", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_environment_variable_fails_without_any_file()
    {
        var run = await RunAsync([("SAFEHAVEN__Probe__Period", "fast")], "plan");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("SafeHaven:Probe:Period", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("SAFEHAVEN__Probe__Period", run.Stderr, StringComparison.Ordinal);
    }

    private Task<CliRunner.Run> Detect(string config, (string, string)[] environment, params string[] extra) =>
        RunAsync(environment, ["detect", "--config", config, "--bootstrap", "127.0.0.1:1", "--rules", _rules.Path, .. extra]);

    private static async Task<CliRunner.Run> RunAsync((string Name, string Value)[] environment, params string[] args)
    {
        var info = CliRunner.StartInfo(args);
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }
        using var p = Process.Start(info)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(Timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"safehaven {string.Join(' ', args)} did not finish within {Timeout}");
        }
        return new CliRunner.Run(p.ExitCode, await stdout, await stderr);
    }

    public void Dispose() => _rules.Dispose();
}
