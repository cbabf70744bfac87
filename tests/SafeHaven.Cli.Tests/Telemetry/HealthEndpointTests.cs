using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SafeHaven.Cli.Tests.Commands;
using SafeHaven.Cli.Tests.Pipeline;

namespace SafeHaven.Cli.Tests.Telemetry;

/// <summary>The health endpoints of a role that cannot be assigned anything, and bad telemetry flags.</summary>
public sealed class HealthEndpointTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
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
            "--signing-key", keys, "--allow-unsealed", "detections,inventory,results", "--duration", "2m", "--metrics-port", port.ToString(CultureInfo.InvariantCulture)]);
        using var scrape = new Scrape(port);
        // No request before the listener is up (see MetricsEndpointTests: a race in .NET's HttpListener start).
        await plan.LineAsync("metrics and health:", TimeSpan.FromSeconds(60));

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

        // And hostile requests leave both listeners answering: bytes that are not HTTP, a 64 KiB path, a POST with a
        // body, a query that looks like a path, a header flood
        string[] hostile =
        [
            "GARBAGE\r\n\r\n",
            $"GET /readyz/{new string('a', 65536)} HTTP/1.1\r\nHost: x\r\n\r\n",
            "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
            "GET /readyz?check=../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /metrics HTTP/1.1\r\nHost: x\r\n" + string.Concat(Enumerable.Range(0, 2000).Select(i => $"X-{i}: {i}\r\n")) + "\r\n",
        ];
        foreach (var raw in hostile)
        {
            output.WriteLine($"{raw[..Math.Min(24, raw.Length)].ReplaceLineEndings(" ")}… -> {await RawAsync(port, raw)}");
        }
        Assert.Equal(200, (await scrape.GetAsync("healthz"))?.Status);
        Assert.Equal(503, (await scrape.GetAsync("readyz"))?.Status);
        Assert.Equal(200, (await scrape.GetAsync("metrics"))?.Status);
        Assert.False(plan.Process.HasExited);
    }

    [Fact]
    public async Task A_role_polled_from_its_first_moment_never_answers_404_on_its_own_paths()
    {
        // Given a role whose port is polled from the moment the process starts (what a kubelet or a scraper does)
        var keys = Path.Join(_w.Dir.FullName, "keys");
        Assert.Equal(0, (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "keys", "generate", "--dir", keys)).ExitCode);
        var port = Scrape.FreePort();
        using var scrape = new Scrape(port);
        var plan = RoleProcess.Start(_w, ["plan", "--bootstrap", "127.0.0.1:" + Scrape.FreePort().ToString(CultureInfo.InvariantCulture),
            "--signing-key", keys, "--allow-unsealed", "detections,inventory,results", "--duration", "2m", "--metrics-port", port.ToString(CultureInfo.InvariantCulture)]);

        // When every path is asked in turn until /metrics serves the exposition
        var seen = new List<string>();
        string[] paths = ["healthz", "readyz", "metrics"];
        var i = 0;
        var served = await Poll.Until(async () =>
        {
            var path = paths[i++ % paths.Length];
            var answer = await scrape.GetAsync(path);
            if (answer is { } a)
            {
                seen.Add($"{path} {a.Status}");
            }
            return plan.Process.HasExited || (path == "metrics" && answer?.Status == 200);
        }, TimeSpan.FromSeconds(90), TimeSpan.FromMilliseconds(20));

        // Then the port answered 503 (starting) or 200 from its first answer on, never the 404 of a route not registered yet
        output.WriteLine("answers in order: " + string.Join(", ", seen.Distinct()));
        Assert.False(plan.Process.HasExited, $"plan exited {(plan.Process.HasExited ? plan.Process.ExitCode : 0)} while polled from its start; stderr:\n{plan.Stderr}");
        Assert.True(served, "/metrics never answered 200; answers: " + string.Join(", ", seen.Distinct()));
        Assert.DoesNotContain(seen, s => s.EndsWith(" 404", StringComparison.Ordinal));
    }

    // The status line the listener answered, or what happened instead.
    private static async Task<string> RawAsync(int port, string request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = tcp.GetStream();
        var buffer = new byte[256];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request), deadline.Token);
            var read = await stream.ReadAsync(buffer, deadline.Token);
            return read == 0 ? "closed" : Encoding.ASCII.GetString(buffer, 0, read).Split('\r')[0];
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException)
        {
            return e.GetType().Name;
        }
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
