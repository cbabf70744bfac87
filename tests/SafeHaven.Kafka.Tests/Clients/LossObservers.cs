using System.Diagnostics.Metrics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Embedded;
using SafeHaven.Kafka.Tests.Embedded;

namespace SafeHaven.Kafka.Tests.Clients;

/// <summary>Fills a partition past what the embedded broker keeps, and commits a group's offset in it.</summary>
internal static class Overflow
{
    // 10 kB records: 800 of them are 8 MB, well past the mock's 5 MiB per partition.
    private static readonly byte[] Payload = new byte[10_000];

    public static void Produce(EmbeddedBroker broker, string topic, int count)
    {
        using var producer = new ProducerBuilder<Null, byte[]>(TestKafka.Producer(broker.BootstrapServers)).Build();
        for (var i = 0; i < count; i++)
        {
            producer.Produce(topic, new Message<Null, byte[]> { Value = Payload });
        }
        Assert.Equal(0, producer.Flush(TestKafka.Deadline));
    }

    public static void CommitAt(EmbeddedBroker broker, string topic, string group, long offset)
    {
        using var consumer = new ConsumerBuilder<Null, byte[]>(TestKafka.Consumer(broker.BootstrapServers, group)).Build();
        consumer.Commit([new TopicPartitionOffset(topic, 0, offset)]);
        consumer.Close();
    }
}

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

/// <summary>A logger that keeps every entry from <paramref name="minimum"/> up, formatted, for assertions; also a factory of itself.</summary>
internal sealed class ListLogger(LogLevel minimum = LogLevel.Trace) : ILogger, ILoggerFactory
{
    private readonly Lock _gate = new();
    private readonly List<(LogLevel Level, string Message)> _entries = [];
    private readonly TaskCompletionSource _error = new(TaskCreationOptions.RunContinuationsAsynchronously);

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

    /// <summary>Completes at the first error logged.</summary>
    public Task FirstError => _error.Task;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
        {
            return;
        }
        lock (_gate)
        {
            _entries.Add((logLevel, formatter(state, exception)));
        }
        if (logLevel >= LogLevel.Error)
        {
            _error.TrySetResult();
        }
    }

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }
}
