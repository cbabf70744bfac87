using System.Net;
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
internal sealed partial class HealthEndpoints(TelemetryOptions options, IHostApplicationLifetime lifetime, IServiceProvider services,
    ILogger<HealthEndpoints> logger) : IHostedService, IDisposable
{
    private readonly HttpListener _listener = new();
    private Thread? _thread;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _listener.Prefixes.Add(options.Prefix + "healthz/");
        _listener.Prefixes.Add(options.Prefix + "readyz/");
        _listener.Start();
        // A thread of its own: on 2 busy cores a pool thread can wait a second to be granted (docs/MACHINE.md).
        _thread = new Thread(Serve) { IsBackground = true, Name = "safehaven-health" };
        _thread.Start();
        LogListening(logger, options.Prefix);
        return Task.CompletedTask;
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
            _ => (404, new { error = "unknown path: /healthz or /readyz" }),
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
