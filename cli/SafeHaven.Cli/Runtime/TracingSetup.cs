using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using SafeHaven.Kafka.Tracing;

namespace SafeHaven.Cli.Runtime;

/// <summary>Where and how much to export: what <see cref="TracingSetup.Parse"/> made of the flag and the environment.</summary>
/// <param name="Endpoint">The flag's URL; null to let the exporter read <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> itself.</param>
/// <param name="Ratio">The share of traces recorded, decided on the trace id (the same in every role).</param>
/// <param name="Service">The resource's <c>service.name</c>: <c>safehaven-&lt;verb&gt;</c>.</param>
/// <param name="Protocol">From <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>; null for the exporter's default (gRPC).</param>
internal sealed record TracingSettings(Uri? Endpoint, double Ratio, string Service, OtlpExportProtocol? Protocol = null);

/// <summary>
/// OTLP export of the roles' spans (docs/OPERATIONS.md, "Traces"): on when <c>--otlp-endpoint</c> or
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, and then every role of the process exports its spans through one
/// tracer provider. Off, no listener exists and the roles start no span at all. Kept apart from the metrics setup
/// so that the two can be merged into one telemetry setup.
/// </summary>
internal static class TracingSetup
{
    /// <summary>The standard OpenTelemetry variable, read by the exporter itself when the flag is absent.</summary>
    public const string EnvironmentVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>The standard sampler argument: here always the ratio of a trace-id ratio sampler.</summary>
    public const string RatioVariable = "OTEL_TRACES_SAMPLER_ARG";

    /// <summary>The standard protocol variable: <c>grpc</c> or <c>http/protobuf</c>.</summary>
    public const string ProtocolVariable = "OTEL_EXPORTER_OTLP_PROTOCOL";

    /// <summary>The flag, on every verb.</summary>
    public static Option<string?> EndpointOption() => new("--otlp-endpoint")
    {
        Description = $"Export traces by OTLP to this URL (gRPC by default, e.g. http://collector:4317; {EnvironmentVariable}, "
            + $"{ProtocolVariable} and {RatioVariable} work too)",
        Recursive = true,
    };

    /// <summary>What <see cref="Configure"/> found; null while export is off.</summary>
    public static TracingSettings? Current { get; private set; }

    /// <summary>Validates the flag and the variables once, at start; a bad value is a usage error naming where it came from.</summary>
    public static void Configure(string? flag, Func<string, string?> environment, string verb)
    {
        ArgumentNullException.ThrowIfNull(environment);
        Current = Parse(flag, environment, verb);
    }

    /// <summary>Null when neither the flag nor the variable names an endpoint; otherwise the settings, validated.</summary>
    public static TracingSettings? Parse(string? flag, Func<string, string?> environment, string verb)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var fromFlag = flag is null ? null : Url(flag, "--otlp-endpoint");
        var variable = environment(EnvironmentVariable);
        if (fromFlag is null && string.IsNullOrEmpty(variable))
        {
            return null;
        }
        if (fromFlag is null)
        {
            Url(variable!, EnvironmentVariable);
        }
        var ratio = 1.0;
        if (environment(RatioVariable) is { Length: > 0 } text
            && !(double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out ratio) && ratio is >= 0 and <= 1))
        {
            throw new UsageException($"{RatioVariable}: '{text}' is not a ratio between 0 and 1");
        }
        OtlpExportProtocol? protocol = environment(ProtocolVariable) switch
        {
            null or "" => null,
            "grpc" => OtlpExportProtocol.Grpc,
            "http/protobuf" => OtlpExportProtocol.HttpProtobuf,
            var other => throw new UsageException($"{ProtocolVariable}: '{other}' is not grpc or http/protobuf"),
        };
        return new TracingSettings(fromFlag, ratio, "safehaven-" + verb, protocol);
    }

    /// <summary>Registers the tracer provider when export is on; the host disposes it (flushing the last spans) at exit.</summary>
    public static void AddTo(IServiceCollection services)
    {
        if (Current is { } settings)
        {
            services.AddSingleton(_ => CreateProvider(settings));
        }
    }

    /// <summary>
    /// A provider exporting every role's source (<c>SafeHaven.*</c>) by OTLP. Its sampler is a trace-id ratio, not
    /// parent-based: a record's <c>traceparent</c> names a parent, never whether to record (headers are unsigned).
    /// </summary>
    public static TracerProvider CreateProvider(TracingSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateDefault().AddService(settings.Service))
            .AddSource(SafeHavenActivity.SourcePrefix + "*")
            .SetSampler(new TraceIdRatioBasedSampler(settings.Ratio))
            .AddOtlpExporter(o =>
            {
                o.Protocol = settings.Protocol ?? o.Protocol;
                if (settings.Endpoint is { } endpoint)
                {
                    // Set in code, the exporter takes the URL as is; over HTTP it needs the signal's path.
                    o.Endpoint = o.Protocol == OtlpExportProtocol.HttpProtobuf && endpoint.AbsolutePath == "/" ? new Uri(endpoint, "v1/traces") : endpoint;
                }
            })
            .Build();
    }

    private static Uri Url(string text, string where) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && uri.Host.Length > 0
            ? uri
            : throw new UsageException($"{where}: '{text}' is not an http:// or https:// URL");
}
