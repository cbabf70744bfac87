using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using SafeHaven.Kafka.Tracing;

namespace SafeHaven.Cli.Runtime;

/// <summary>
/// OTLP export of the SafeHaven spans (docs/OPERATIONS.md, "Traces"): on when <c>--otlp-endpoint</c> or
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, and then every role of the process exports its spans through one
/// tracer provider. Off, no listener exists and the roles start no span at all. Kept apart from the metrics setup
/// so that the two can be merged into one telemetry setup.
/// </summary>
internal static class TracingSetup
{
    /// <summary>The standard OpenTelemetry variable, read by the exporter itself when the flag is absent.</summary>
    public const string EnvironmentVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>The flag, on every verb.</summary>
    public static Option<string?> EndpointOption() => new("--otlp-endpoint")
    {
        Description = $"Export traces by OTLP to this URL (gRPC, e.g. http://collector:4317; {EnvironmentVariable} and OTEL_EXPORTER_OTLP_PROTOCOL work too)",
        Recursive = true,
    };

    /// <summary>True once <see cref="Configure"/> found an endpoint.</summary>
    public static bool Enabled { get; private set; }

    private static Uri? _flag;
    private static string _service = "safehaven";

    /// <summary>Validates the flag and the variable; a bad value is a usage error naming where it came from.</summary>
    public static void Configure(string? flag, string? environment, string verb)
    {
        _flag = flag is null ? null : Parse(flag, "--otlp-endpoint");
        if (flag is null && !string.IsNullOrEmpty(environment))
        {
            Parse(environment, EnvironmentVariable);
        }
        Enabled = _flag is not null || !string.IsNullOrEmpty(environment);
        _service = "safehaven-" + verb;
    }

    /// <summary>Registers the tracer provider when export is on; the host disposes it (flushing the last spans) at exit.</summary>
    public static void AddTo(IServiceCollection services)
    {
        if (!Enabled)
        {
            return;
        }
        services.AddSingleton(_ => Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateDefault().AddService(_service))
            .AddSource(SafeHavenActivity.SourceName)
            .AddOtlpExporter(o =>
            {
                if (_flag is not null)
                {
                    o.Endpoint = _flag;
                }
            })
            .Build());
    }

    private static Uri Parse(string text, string where) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && uri.Host.Length > 0
            ? uri
            : throw new UsageException($"{where}: '{text}' is not an http:// or https:// URL");
}
