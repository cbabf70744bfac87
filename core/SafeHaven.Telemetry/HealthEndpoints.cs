using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Telemetry;

namespace SafeHaven.Telemetry;

/// <summary>
/// <c>/healthz</c> and <c>/readyz</c> on the metrics port, beside the Prometheus exporter's <c>/metrics</c> (one port:
/// the managed HttpListener shares it between the two listeners, the longest matching prefix taking a request). Live: the host has started, is not
/// stopping, no role has died and every role loop still runs. Ready: live, and every readiness check the roles
/// registered (<see cref="RoleHealth"/>) passes. Both answer JSON, 200 or 503.
/// </summary>
/// <remarks>
/// This listener opens the port, before the exporter's (<see cref="Listen"/> runs as the meter provider is built, ahead of
/// the exporter's reader), and holds the root prefix: from the first moment the port answers, every path has an answer
/// (<c>/metrics</c> a 503 until the exporter's longer prefix takes it over, microseconds later), never a 404 for a route
/// not registered yet. Opening it first also makes this listener the one that meets .NET's start race (see
/// <see cref="WarmSockets"/>).
/// </remarks>
internal sealed partial class HealthEndpoints(TelemetryOptions options, IHostApplicationLifetime lifetime, IServiceProvider services,
    ILogger<HealthEndpoints> logger) : IHostedService, IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Lock _gate = new();
    private Thread? _thread;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Listen();
        LogListening(logger, options.Prefix);
        return Task.CompletedTask;
    }

    /// <summary>Opens the port with the root prefix and starts answering; later calls do nothing.</summary>
    internal void Listen()
    {
        lock (_gate)
        {
            if (_thread is not null)
            {
                return;
            }
            _listener.Prefixes.Add(options.Prefix);
            WarmSockets();
            _listener.Start();
            // A thread of its own: on 2 busy cores a pool thread can wait a second to be granted (docs/MACHINE.md).
            _thread = new Thread(Serve) { IsBackground = true, Name = "safehaven-health" };
            _thread.Start();
        }
    }

    // .NET's managed HttpListener starts accepting on a new port before its endpoint's connection table exists
    // (HttpEndPointListener's constructor: Listen, AcceptAsync, then the table): a connection already queued completes
    // the accept synchronously into that null table, an ArgumentNullException out of Start, and the port is lost to the
    // process. Cold, that window holds the first JIT of the socket accept path and the start of the socket engine's
    // thread (milliseconds on a busy host); done once here on a throwaway loopback socket, it shrinks to microseconds.
    // Only a server that builds its state before it listens (Kestrel) closes it: docs/OPERATIONS.md, "Health endpoints".
    private static void WarmSockets()
    {
        // Disposed after the socket, whose closing ends the pending accept (a SocketAsyncEventArgs in use defers its disposal).
        using var accept = new SocketAsyncEventArgs();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen(1);
        _ = socket.AcceptAsync(accept);
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _listener.Stop();
        return Task.CompletedTask;
    }

    public void Dispose() => _listener.Close();

    private void Serve()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = _listener.GetContext();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            try
            {
                Answer(context);
            }
            catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
            {
                // The scraper went away mid-answer: nothing to do.
            }
        }
    }

    private void Answer(HttpListenerContext context)
    {
        var path = context.Request.Url?.AbsolutePath.TrimEnd('/') ?? "";
        var notLive = NotLive();
        (int status, object body) = path switch
        {
            "/healthz" => notLive is null ? (200, new { live = true }) : (503, (object)new { live = false, reason = notLive }),
            "/readyz" => Ready(notLive),
            // Only until the exporter registers its longer prefix, which then takes every /metrics request.
            "/metrics" => (503, new { error = "the metrics exporter is starting" }),
            _ => (404, new { error = "unknown path: /metrics, /healthz or /readyz" }),
        };
        var bytes = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(body));
        using var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength64 = bytes.Length;
        response.OutputStream.Write(bytes);
    }

    private static (int, object) Ready(string? notLive)
    {
        var waiting = RoleHealth.NotReady().Select(w => new { check = w.Name, reason = w.Reason }).ToList();
        if (notLive is not null)
        {
            waiting.Insert(0, new { check = "live", reason = notLive });
        }
        else if (RoleHealth.Count == 0)
        {
            waiting.Add(new { check = "roles", reason = "no role has registered a readiness check yet (starting)" });
        }
        return waiting.Count == 0 ? (200, new { ready = true }) : (503, new { ready = false, notReady = waiting });
    }

    // Null while the roles' loops run; otherwise why not.
    private string? NotLive()
    {
        if (!lifetime.ApplicationStarted.IsCancellationRequested)
        {
            return "starting";
        }
        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            return "stopping";
        }
        if (services.GetService<RoleFailures>() is { Failed: true })
        {
            return "a role died";
        }
        var ended = services.GetServices<IHostedService>().OfType<BackgroundService>().FirstOrDefault(s => s.ExecuteTask is { IsCompleted: true });
        return ended is null ? null : $"{ended.GetType().Name}: its loop ended";
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "metrics and health: {Prefix}metrics, {Prefix}healthz, {Prefix}readyz")]
    private static partial void LogListening(ILogger logger, string prefix);
}
