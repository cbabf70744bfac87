using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using SafeHaven.Kafka.Telemetry;

namespace SafeHaven.Telemetry;

/// <summary>
/// The one place OpenTelemetry metrics are set up for every role: the <c>SafeHaven.*</c> meters
/// (<see cref="SafeHavenMetrics"/>) exported on a Prometheus endpoint (<c>/metrics</c>) beside the health endpoints
/// (<c>/healthz</c>, <c>/readyz</c>), and over OTLP when configured. Traces are set up apart (the CLI's TracingSetup);
/// both add to the one OpenTelemetry registration of the host. docs/OPERATIONS.md, "Metrics" and "Health endpoints".
/// </summary>
public static class SafeHavenTelemetry
{
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
        if (options.MetricsPort > 0)
        {
            services.TryAddSingleton<HealthEndpoints>();
            services.AddHostedService(sp => sp.GetRequiredService<HealthEndpoints>());
        }
        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(options.ServiceName))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(SafeHavenMetrics.MeterPrefix + "*");
                if (options.MetricsPort > 0)
                {
                    // The health listener opens the port first (deferred callbacks run in order, the exporter's reader
                    // is made by a later one), whenever the host builds the meter provider: see HealthEndpoints.
                    (metrics as IDeferredMeterProviderBuilder)?.Configure((sp, _) => sp.GetRequiredService<HealthEndpoints>().Listen());
                    metrics.AddPrometheusHttpListener(o =>
                    {
                        o.Host = options.ListenerHost;
                        o.Port = options.MetricsPort;
                        o.ScrapeEndpointPath = "/metrics";
                        // Every scrape sees the counts of now: a test (or an operator) polling for a change is not
                        // served a cached page.
                        o.ScrapeResponseCacheDurationMilliseconds = 0;
                    });
                }
                if (options.Otlp)
                {
                    metrics.AddOtlpExporter(o => Otlp(o, options));
                }
            });
        return services;
    }

    // Without --otlp-endpoint the exporter reads the standard OTEL_EXPORTER_OTLP_* variables itself.
    private static void Otlp(OtlpExporterOptions o, TelemetryOptions options)
    {
        if (options.OtlpEndpoint is { } endpoint)
        {
            // Set in code, the exporter takes the URL as is: over HTTP it needs the signal's path.
            o.Endpoint = o.Protocol == OtlpExportProtocol.HttpProtobuf && endpoint.AbsolutePath == "/" ? new Uri(endpoint, "v1/metrics") : endpoint;
        }
    }
}
