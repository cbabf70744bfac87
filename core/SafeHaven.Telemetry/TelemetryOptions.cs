using System.Net;

namespace SafeHaven.Telemetry;

/// <summary>Where a role's telemetry goes: the Prometheus and health endpoint, and an OTLP collector.</summary>
public sealed class TelemetryOptions
{
    /// <summary>The standard variable naming an OTLP collector, read when <see cref="OtlpEndpoint"/> is not set.</summary>
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>Port of <c>/metrics</c>, <c>/healthz</c> and <c>/readyz</c>; 0 (the default) serves nothing.</summary>
    public int MetricsPort { get; set; }

    /// <summary>Address the endpoint listens on: an IP address, or <c>+</c> for every interface. Default: loopback only.</summary>
    public string MetricsHost { get; set; } = "127.0.0.1";

    /// <summary>OTLP collector for metrics; null: the standard variable, else none.</summary>
    public Uri? OtlpEndpoint { get; set; }

    /// <summary>The <c>service.name</c> resource attribute: the role or verb.</summary>
    public string ServiceName { get; set; } = "safehaven";

    /// <summary>Whether OTLP export is on: an endpoint was given, or the standard variable names one.</summary>
    public bool Otlp => OtlpEndpoint is not null || !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(OtlpEndpointVariable));

    /// <summary>Throws <see cref="ArgumentException"/> naming the setting that is wrong.</summary>
    public void Validate()
    {
        if (MetricsPort is < 0 or > 65535)
        {
            throw new ArgumentException($"the metrics port must be 0 (off) or 1..65535, got {MetricsPort}", nameof(MetricsPort));
        }
        if (MetricsHost != "+" && !IPAddress.TryParse(MetricsHost, out _))
        {
            throw new ArgumentException($"the metrics host must be an IP address or '+' (every interface), got '{SafeHaven.Core.Identifiers.Printable(MetricsHost)}'", nameof(MetricsHost));
        }
        if (OtlpEndpoint is { } otlp && (!otlp.IsAbsoluteUri || (otlp.Scheme != Uri.UriSchemeHttp && otlp.Scheme != Uri.UriSchemeHttps)))
        {
            throw new ArgumentException($"the OTLP endpoint must be an absolute http(s) URL, got '{otlp}'", nameof(OtlpEndpoint));
        }
    }

    /// <summary>The host part of the endpoint's URL: IPv6 addresses bracketed.</summary>
    internal string ListenerHost => MetricsHost.Contains(':', StringComparison.Ordinal) ? $"[{MetricsHost}]" : MetricsHost;

    /// <summary>The listener prefix of the endpoint, e.g. <c>http://127.0.0.1:9464/</c>.</summary>
    internal string Prefix => $"http://{ListenerHost}:{MetricsPort}/";
}
