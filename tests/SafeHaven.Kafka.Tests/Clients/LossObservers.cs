using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using SafeHaven.Kafka.Clients;

namespace SafeHaven.Kafka.Tests.Clients;

/// <summary>What <see cref="LogStartWatch.RecordsLostName"/> counted for one topic (tests run in parallel: other topics are ignored).</summary>
internal sealed class LostRecords : IDisposable
{
    private readonly Lock _gate = new();
    private readonly MeterListener _listener = new();
    private readonly List<(string Partition, string Component)> _tags = [];
    private long _total;

    public LostRecords(string topic)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == LogStartWatch.MeterName && instrument.Name == LogStartWatch.RecordsLostName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var byName = new Dictionary<string, object?>();
            foreach (var tag in tags)
            {
                byName[tag.Key] = tag.Value;
            }
            if (!Equals(byName.GetValueOrDefault("topic"), topic))
            {
                return;
            }
            lock (_gate)
            {
                _total += value;
                _tags.Add(($"{byName.GetValueOrDefault("partition")}", $"{byName.GetValueOrDefault("component")}"));
            }
        });
        _listener.Start();
    }

    public long Total
    {
        get
        {
            lock (_gate)
            {
                return _total;
            }
        }
    }

    public IReadOnlyList<(string Partition, string Component)> Tags
    {
        get
        {
            lock (_gate)
            {
                return [.. _tags];
            }
        }
    }

    public void Dispose() => _listener.Dispose();
}

/// <summary>A logger that keeps every entry, formatted, for assertions.</summary>
internal sealed class ListLogger : ILogger
{
    private readonly Lock _gate = new();
    private readonly List<(LogLevel Level, string Message)> _entries = [];

    public IReadOnlyList<(LogLevel Level, string Message)> Entries
    {
        get
        {
            lock (_gate)
            {
                return [.. _entries];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_gate)
        {
            _entries.Add((logLevel, formatter(state, exception)));
        }
    }
}
