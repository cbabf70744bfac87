using System.CommandLine;
using System.CommandLine.Parsing;
using SafeHaven.Telemetry;

namespace SafeHaven.Cli.Runtime;

/// <summary>The telemetry flags of every role verb, <c>up</c> and <c>demo</c> (docs/OPERATIONS.md, "Metrics").</summary>
internal sealed class TelemetryFlags
{
    public Option<int> MetricsPort { get; } = new("--metrics-port")
    {
        Description = "Serve Prometheus /metrics, /healthz and /readyz on this port; 0 (default) serves nothing",
        DefaultValueFactory = _ => 0,
    };

    public Option<string> MetricsHost { get; } = new("--metrics-host")
    {
        Description = "Address the metrics port listens on: an IP address, or + for every interface",
        DefaultValueFactory = _ => "127.0.0.1",
    };

    public Option<string?> OtlpEndpoint { get; } = new("--otlp-endpoint")
    {
        Description = $"Export metrics over OTLP to this collector URL; default: the {TelemetryOptions.OtlpEndpointVariable} variable, else none",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(MetricsPort);
        command.Options.Add(MetricsHost);
    }

    /// <summary>The settings of <paramref name="service"/> (the verb); a bad value exits 2 naming the flag.</summary>
    public TelemetryOptions Read(ParseResult parse, string service)
    {
        // By name, not by this instance: the tracing set-up defines the same flag once, recursive on the root command;
        // wherever the parse found it, metrics go to the same collector as traces.
        var otlp = parse.GetResult(OtlpEndpoint.Name) is OptionResult { Option: Option<string?> given } ? parse.GetValue(given) : null;
        var options = new TelemetryOptions
        {
            MetricsPort = parse.GetValue(MetricsPort),
            MetricsHost = parse.GetValue(MetricsHost)!,
            OtlpEndpoint = otlp is null ? null
                : Uri.TryCreate(otlp, UriKind.Absolute, out var uri) ? uri : throw new UsageException($"--otlp-endpoint: not an absolute URL: '{SafeHaven.Core.Identifiers.Printable(otlp)}'"),
            ServiceName = "safehaven-" + service,
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            var flag = e.ParamName switch { nameof(TelemetryOptions.MetricsHost) => "--metrics-host", nameof(TelemetryOptions.OtlpEndpoint) => "--otlp-endpoint", _ => "--metrics-port" };
            throw new UsageException($"{flag}: {e.Message.Split(" (Parameter", 2)[0]}", e);
        }
        return options;
    }
}
