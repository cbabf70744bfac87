using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace SafeHaven.Kafka.Clients;

/// <summary>
/// Reports lost records from librdkafka's own "offset reset" log line, for consumers whose builder
/// SafeHaven does not own and whose records it does not see one by one: Streamiz builds its
/// consumers itself and hands librdkafka's log lines to the <see cref="ILoggerFactory"/> of its
/// config (category <see cref="StreamizClientCategory"/>), so wrapping that factory is the hook.
/// </summary>
/// <remarks>
/// The line, as librdkafka 2.x writes it at warning level when auto.offset.reset=earliest fires after
/// OFFSET_OUT_OF_RANGE: "<c>topic [0]: offset reset (at offset 5 (leader epoch 0), broker 1) to cached
/// BEGINNING offset offset 288 (leader epoch -1): fetch failed due to requested offset not available
/// on the broker: Broker: Offset out of range</c>". The target is "cached" whenever the failed
/// fetch carried the log start (Fetch v5+, the embedded broker included); a reset to an uncached
/// BEGINNING names no end and is reported without a count.
/// </remarks>
public sealed partial class OffsetResetLog(ILoggerFactory inner, string component) : ILoggerFactory
{
    /// <summary>The logger category Streamiz logs its Kafka clients' librdkafka lines under.</summary>
    public const string StreamizClientCategory = "Streamiz.Kafka.Net.Kafka.KafkaLoggerAdapter";

    private readonly ILogger _report = inner.CreateLogger(typeof(LogStartWatch).FullName!);

    /// <summary>Parses a librdkafka offset-reset line into the partition and the offsets it skipped (last is null when the line names no target).</summary>
    public static bool TryParse(string line, out string topic, out int partition, out long first, out long? last)
    {
        ArgumentNullException.ThrowIfNull(line);
        var match = ResetLine().Match(line);
        (topic, partition, first, last) = ("", -1, -1, null);
        if (!match.Success)
        {
            return false;
        }
        topic = match.Groups["topic"].Value;
        partition = int.Parse(match.Groups["partition"].Value, CultureInfo.InvariantCulture);
        first = long.Parse(match.Groups["from"].Value, CultureInfo.InvariantCulture);
        last = match.Groups["to"].Success ? long.Parse(match.Groups["to"].Value, CultureInfo.InvariantCulture) - 1 : null;
        return true;
    }

    /// <inheritdoc/>
    public ILogger CreateLogger(string categoryName)
    {
        ILogger logger;
        try
        {
            logger = inner.CreateLogger(categoryName);
        }
        catch (ObjectDisposedException)
        {
            // Streamiz keeps the last config's factory in a static beyond the host that made it: a stream built later in
            // the same process (a replaced stream, tests) may ask it after that host disposed its factory.
            logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        }
        return categoryName == StreamizClientCategory ? new Watching(logger, this) : logger;
    }

    /// <inheritdoc/>
    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    /// <summary>Does nothing: the wrapped factory belongs to whoever made it (Streamiz keeps factories beyond a stream's life).</summary>
    public void Dispose()
    {
    }

    private void Inspect(string line)
    {
        // Cheap test first: every librdkafka line of every Streamiz client passes through here.
        if (!line.Contains("offset reset", StringComparison.Ordinal) || !TryParse(line, out var topic, out var partition, out var first, out var last))
        {
            return;
        }
        if (last is { } end)
        {
            LogStartWatch.Report(component, topic, partition, first, end, _report);
        }
        else
        {
            LogLostFrom(_report, component, topic, partition, first);
        }
    }

    [GeneratedRegex(@"(?<topic>[A-Za-z0-9._-]+) \[(?<partition>\d+)\]: offset reset \(at offset (?<from>\d+)\b.*?\) to (?:cached BEGINNING offset offset (?<to>\d+)\b|(?!cached)).*Offset out of range",
        RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 100)]
    private static partial Regex ResetLine();

    [LoggerMessage(Level = LogLevel.Error, Message = "{Component}: lost {Topic}[{Partition}] offsets from {First} (log start moved past them)")]
    private static partial void LogLostFrom(ILogger logger, string component, string topic, int partition, long first);

    private sealed class Watching(ILogger inner, OffsetResetLog owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        // Enabled at every level: Streamiz passes librdkafka's lines on at Debug, below what hosts usually keep.
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            owner.Inspect(state is IReadOnlyList<KeyValuePair<string, object?>> fields
                && fields.FirstOrDefault(f => f.Key == "Message").Value is string message ? message : formatter(state, exception));
            if (inner.IsEnabled(logLevel))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
