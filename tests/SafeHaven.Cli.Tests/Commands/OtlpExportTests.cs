using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using OpenTelemetry.Exporter;
using OpenTelemetry.Trace;
using SafeHaven.Cli.Runtime;
using SafeHaven.Kafka.Tracing;

namespace SafeHaven.Cli.Tests.Commands;

/// <summary>
/// <c>--otlp-endpoint</c> and the OTEL_* variables: what they turn on, what they refuse (exit 2 naming the source),
/// and that the provider really sends the roles' spans to a collector (a loopback OTLP/HTTP receiver here).
/// </summary>
public sealed class OtlpExportTests
{
    private static Func<string, string?> Env(params (string Key, string Value)[] vars) =>
        key => vars.FirstOrDefault(v => v.Key == key).Value;

    [Fact]
    public void Without_flag_or_variable_export_is_off_and_with_either_it_is_on()
    {
        Assert.Null(TracingSetup.Parse(null, Env(), "up"));
        var flag = TracingSetup.Parse("http://collector:4317", Env(), "up");
        Assert.Equal((new Uri("http://collector:4317"), 1.0, "safehaven-up", (OtlpExportProtocol?)null),
            (flag!.Endpoint, flag.Ratio, flag.Service, flag.Protocol));
        // The variable alone: the exporter reads it itself; the ratio and protocol variables are validated here.
        var variable = TracingSetup.Parse(null, Env((TracingSetup.EnvironmentVariable, "https://c:4318"), (TracingSetup.RatioVariable, "0.25"),
            (TracingSetup.ProtocolVariable, "http/protobuf")), "detect");
        Assert.Equal(((Uri?)null, 0.25, OtlpExportProtocol.HttpProtobuf), (variable!.Endpoint, variable.Ratio, variable.Protocol));
    }

    [Theory]
    [InlineData("--otlp-endpoint", "collector:4317", null, null)]
    [InlineData("--otlp-endpoint", "ftp://collector", null, null)]
    [InlineData("--otlp-endpoint", "/var/run/otlp.sock", null, null)]
    [InlineData(TracingSetup.EnvironmentVariable, null, TracingSetup.EnvironmentVariable, "not a url")]
    [InlineData(TracingSetup.RatioVariable, "http://c:4317", TracingSetup.RatioVariable, "1.5")]
    [InlineData(TracingSetup.RatioVariable, "http://c:4317", TracingSetup.RatioVariable, "NaN")]
    [InlineData(TracingSetup.ProtocolVariable, "http://c:4317", TracingSetup.ProtocolVariable, "http/json")]
    public void A_bad_value_is_a_usage_error_naming_its_source(string named, string? flag, string? variable, string? value)
    {
        var env = variable is null ? Env() : Env((variable, value!));
        var e = Assert.Throws<UsageException>(() => TracingSetup.Parse(flag, env, "up"));
        Assert.StartsWith(named + ":", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_cli_exits_2_on_a_bad_endpoint_from_the_flag_or_the_environment()
    {
        var flag = await CliRunner.RunAsync(TimeSpan.FromSeconds(60), "keys", "--help", "--otlp-endpoint", "collector:4317");
        Assert.Equal(2, flag.ExitCode);
        Assert.Contains("--otlp-endpoint: 'collector:4317'", flag.Stderr, StringComparison.Ordinal);

        var info = CliRunner.StartInfo("keys", "--help");
        info.Environment[TracingSetup.EnvironmentVariable] = "collector:4317";
        using var p = Process.Start(info)!;
        p.StandardInput.Close();
        var stderr = p.StandardError.ReadToEndAsync();
        _ = p.StandardOutput.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
        Assert.Equal(2, p.ExitCode);
        Assert.Contains(TracingSetup.EnvironmentVariable + ":", await stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_provider_exports_a_roles_span_to_the_collector_over_otlp_http()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var collector = new TcpListener(IPAddress.Loopback, 0);
        collector.Start();
        var port = ((IPEndPoint)collector.LocalEndpoint).Port;
        var requests = new OtlpHttp();
        _ = Task.Run(() => requests.ServeAsync(collector, cts.Token), cts.Token);

        ActivityTraceId trace;
        using (var provider = TracingSetup.CreateProvider(new TracingSettings(new Uri($"http://127.0.0.1:{port}"), 1.0, "safehaven-otlp-test",
            OtlpExportProtocol.HttpProtobuf)))
        {
            using (var span = SafeHavenActivity.StartProducer(SafeHavenActivity.Probe, SafeHavenActivity.SamplesPublish))
            {
                Assert.NotNull(span);
                trace = span.TraceId;
            }
            Assert.True(provider.ForceFlush(30_000));
        }

        // The body is an ExportTraceServiceRequest: the trace id as 16 raw bytes, the span and service names as UTF-8.
        // Other tests' roles may be traced alongside (their spans share the provider): the request holding ours counts.
        var traceBytes = new byte[16];
        trace.CopyTo(traceBytes);
        var request = await Poll.For(() => requests.Received.FirstOrDefault(r => r.Body.AsSpan().IndexOf(traceBytes) >= 0), TimeSpan.FromSeconds(10),
            () => $"an export holding trace {trace}; {requests.Received.Count} requests received");
        Assert.Equal(("POST", "/v1/traces"), (request.Method, request.Path));
        Assert.True(request.Body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(SafeHavenActivity.SamplesPublish)) >= 0, "the span's name is in the export");
        Assert.True(request.Body.AsSpan().IndexOf("safehaven-otlp-test"u8) >= 0, "the service name is in the export");
        Assert.True(request.Body.AsSpan().IndexOf("SafeHaven.Probe"u8) >= 0, "the role's source is in the export");
    }
}

/// <summary>
/// The least of an OTLP/HTTP collector: answers every request 200 and keeps it (method, path, body). HTTP/1.1 with a
/// Content-Length or chunked body, connections kept alive, loopback only.
/// </summary>
internal sealed class OtlpHttp
{
    public sealed record Request(string Method, string Path, byte[] Body);

    private readonly System.Collections.Concurrent.ConcurrentQueue<Request> _received = new();

    public IReadOnlyCollection<Request> Received => _received;

    public async Task ServeAsync(TcpListener listener, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var client = await listener.AcceptTcpClientAsync(ct);
            _ = Task.Run(() => ConnectionAsync(client, ct), ct);
        }
    }

    private async Task ConnectionAsync(TcpClient client, CancellationToken ct)
    {
        using (client)
        {
            var stream = new BufferedStream(client.GetStream());
            while (await ReadLineAsync(stream, ct) is { Length: > 0 } requestLine)
            {
                var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                while (await ReadLineAsync(stream, ct) is { Length: > 0 } line)
                {
                    var colon = line.IndexOf(':', StringComparison.Ordinal);
                    headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
                }
                var body = headers.TryGetValue("Transfer-Encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase)
                    ? await ChunkedAsync(stream, ct)
                    : await ExactlyAsync(stream, headers.TryGetValue("Content-Length", out var cl) ? int.Parse(cl, System.Globalization.CultureInfo.InvariantCulture) : 0, ct);
                var parts = requestLine.Split(' ');
                _received.Enqueue(new Request(parts[0], parts[1], body));
                await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n"u8.ToArray(), ct);
                await stream.FlushAsync(ct);
            }
        }
    }

    private static async Task<byte[]> ChunkedAsync(Stream stream, CancellationToken ct)
    {
        using var body = new MemoryStream();
        while (true)
        {
            var size = int.Parse((await ReadLineAsync(stream, ct) ?? "0").Split(';')[0], System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
            if (size == 0)
            {
                await ReadLineAsync(stream, ct);
                return body.ToArray();
            }
            body.Write(await ExactlyAsync(stream, size, ct));
            await ReadLineAsync(stream, ct);
        }
    }

    private static async Task<byte[]> ExactlyAsync(Stream stream, int count, CancellationToken ct)
    {
        var bytes = new byte[count];
        await stream.ReadExactlyAsync(bytes, ct);
        return bytes;
    }

    private static async Task<string?> ReadLineAsync(Stream stream, CancellationToken ct)
    {
        var line = new List<byte>();
        var one = new byte[1];
        while (await stream.ReadAsync(one, ct) == 1)
        {
            if (one[0] == '\n')
            {
                return Encoding.ASCII.GetString([.. line]).TrimEnd('\r');
            }
            line.Add(one[0]);
        }
        return line.Count == 0 ? null : Encoding.ASCII.GetString([.. line]);
    }
}
