using System.Globalization;
using SafeHaven.Cli.Tests.Commands;
using SafeHaven.Cli.Tests.Pipeline;

namespace SafeHaven.Cli.Tests.Telemetry;

/// <summary>The health endpoints of a role that cannot be assigned anything, and bad telemetry flags.</summary>
public sealed class HealthEndpointTests : IDisposable
{
    private readonly Workloads _w = new();

    [Fact]
    public async Task A_planner_without_a_broker_is_live_but_not_ready_and_says_why()
    {
        // Given a planner whose broker is not there: its loop runs, but no partition is ever assigned to it
        var keys = Path.Join(_w.Dir.FullName, "keys");
        Assert.Equal(0, (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "keys", "generate", "--dir", keys)).ExitCode);
        var port = Scrape.FreePort();
        var plan = RoleProcess.Start(_w, ["plan", "--bootstrap", "127.0.0.1:" + Scrape.FreePort().ToString(CultureInfo.InvariantCulture),
            "--signing-key", keys, "--duration", "2m", "--metrics-port", port.ToString(CultureInfo.InvariantCulture)]);
        using var scrape = new Scrape(port);

        // When the host has started its roles
        await Poll.Require(() => !plan.Process.HasExited, "the planner running");
        (int Status, string Body)? live = null;
        Assert.True(await Poll.Until(() => (live = scrape.GetAsync("healthz").GetAwaiter().GetResult()) is { Status: 200 } || plan.Process.HasExited,
            TimeSpan.FromSeconds(60)), $"/healthz never answered 200 (last: {live}); stderr:\n{plan.Stderr}");
        Assert.False(plan.Process.HasExited, $"plan exited {(plan.Process.HasExited ? plan.Process.ExitCode : 0)}; stderr:\n{plan.Stderr}");

        // Then it is live, not ready, naming the planner's standby as the reason, and /metrics answers
        var ready = await scrape.GetAsync("readyz");
        Assert.Equal(503, ready?.Status);
        Assert.Contains("\"check\":\"planner\"", ready!.Value.Body, StringComparison.Ordinal);
        Assert.Contains("standby", ready.Value.Body, StringComparison.Ordinal);
        Assert.Equal(200, (await scrape.GetAsync("metrics"))?.Status);
        Assert.Equal(404, (await scrape.GetAsync("healthz/deeper"))?.Status);
    }

    [Theory]
    [InlineData("--metrics-port", "70000", "--metrics-port")]
    [InlineData("--metrics-port", "-1", "--metrics-port")]
    [InlineData("--metrics-host", "localhost; rm -rf /", "--metrics-host")]
    [InlineData("--otlp-endpoint", "not a url", "--otlp-endpoint")]
    [InlineData("--otlp-endpoint", "file:///etc/passwd", "--otlp-endpoint")]
    public async Task A_bad_telemetry_flag_exits_2_naming_it(string flag, string value, string named)
    {
        var run = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "siem", "--bootstrap", "127.0.0.1:1", flag, value);
        Assert.True(run.ExitCode == 2, $"exit {run.ExitCode}; stderr: {run.Stderr}");
        Assert.Contains(named, run.Stderr, StringComparison.Ordinal);
    }

    public void Dispose() => _w.Dispose();
}
