using Microsoft.Extensions.Logging;

namespace SafeHaven.Cli.Runtime;

/// <summary>Logs go to stderr, one line each; stdout is kept for machine-readable output.</summary>
internal static class CliLogging
{
    public static void Configure(ILoggingBuilder builder, LogLevel level)
    {
        builder.SetMinimumLevel(level);
        // Stream and client libraries are chatty at Information; their warnings still show.
        // SAFEHAVEN_STREAMIZ_LOG_LEVEL=Information shows rebalances and task states when a takeover needs explaining.
        var streamiz = Enum.TryParse<LogLevel>(Environment.GetEnvironmentVariable("SAFEHAVEN_STREAMIZ_LOG_LEVEL"), ignoreCase: true, out var chosen)
            ? chosen : LogLevel.Warning;
        builder.AddFilter("Streamiz", streamiz);
        builder.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
    }

    public static ILoggerFactory Factory(LogLevel level) => LoggerFactory.Create(b => Configure(b, level));
}
