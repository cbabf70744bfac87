using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using SafeHaven.Kafka.Telemetry;

namespace SafeHaven.Telemetry;

/// <summary>
/// The one place OpenTelemetry is set up for every role: the <c>SafeHaven.*</c> meters (<see cref="SafeHavenMetrics"/>)
/// exported on a Prometheus endpoint (<c>/metrics</c>) beside the health endpoints (<c>/health/live</c>,
/// <c>/health/ready</c>), and over OTLP when configured; traces of the <see cref="ActivitySourceName"/> source over OTLP.
/// docs/OPERATIONS.md, "Metrics" and "Health endpoints".
/// </summary>
public static class SafeHavenTelemetry
{
    /// <summary>The <see cref="System.Diagnostics.ActivitySource"/> name of SafeHaven's traces; exported with OTLP.</summary>
    public const string ActivitySourceName = "SafeHaven";

    /// <summary>
    /// Registers the exporters <paramref name="options"/> asks for; nothing when the port is 0 and no OTLP endpoint is
    /// configured. Register it before the roles: hosted services start in order, and the health endpoint should
    /// answer 503 while the roles start. Idempotent.
    /// </summary>
    /// <exception cref="ArgumentException">An option is invalid (<see cref="TelemetryOptions.Validate"/>).</exception>
    public static IServiceCollection AddSafeHavenTelemetry(this IServiceCollection services, TelemetryOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if ((options.MetricsPort == 0 && !options.Otlp) || services.Any(s => s.ServiceType == typeof(TelemetryOptions)))
        {
            return services;
        }
        services.TryAddSingleton(options);
        var otel = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(options.ServiceName))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(SafeHavenMetrics.MeterPrefix + "*");
                if (options.MetricsPort > 0)
                {
                    metrics.AddPrometheusHttpListener(o =>
                    {
                        o.UriPrefixes = [options.Prefix];
                        o.ScrapeEndpointPath = "/metrics";
                    });
                }
                if (options.Otlp)
                {
                    metrics.AddOtlpExporter(o => Otlp(o, options));
                }
            });
        if (options.Otlp)
        {
            otel.WithTracing(tracing => tracing.AddSource(ActivitySourceName).AddOtlpExporter(o => Otlp(o, options)));
        }
        if (options.MetricsPort > 0)
        {
            services.AddHostedService<HealthEndpoints>();
        }
        return services;
    }

    // Without --otlp-endpoint the exporter reads the standard OTEL_EXPORTER_OTLP_* variables itself.
    private static void Otlp(OtlpExporterOptions o, TelemetryOptions options)
    {
        if (options.OtlpEndpoint is { } endpoint)
        {
            o.Endpoint = endpoint;
        }
    }
}
