using Confluent.Kafka;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;

namespace SafeHaven.Traces.Kafka;

/// <summary>Settings of a <see cref="TraceRecorder"/>.</summary>
public sealed class TraceRecorderOptions
{
    /// <summary>Also record detections. Default false.</summary>
    public bool Detections { get; init; }

    /// <summary>Also record isolation results. Default false.</summary>
    public bool Results { get; init; }

    /// <summary>Start at the earliest retained record (true) or at the end of each topic. Default true.</summary>
    public bool FromBeginning { get; init; } = true;

    /// <summary>Buffered records are written as a block at least this often, so a kill loses at most this much. Default 1 s.</summary>
    public TimeSpan FlushEvery { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Progress is reported this often. Default 2 s.</summary>
    public TimeSpan ProgressEvery { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>What a recorder wrote and refused so far.</summary>
public sealed record RecordStats(long Records, long Samples, long Inventory, long Detections, long Results, long Rejected, long Bytes, TimeSpan Elapsed)
{
    /// <summary>Records per second since the start.</summary>
    public double Rate => Elapsed.TotalSeconds > 0 ? Records / Elapsed.TotalSeconds : 0;
}

/// <summary>
/// Consumes samples (<c>SampleBatch</c> or single <c>CounterSample</c> records, unbatched), inventory and optionally
/// detections and results, checks their seals as their consumers do (each kind whose producing role has a trusted key in
/// <see cref="KafkaClients.Seals"/>), and appends them to a <see cref="TraceWriter"/>. Records that fail the seal check
/// or do not decode are left out and counted (<see cref="RecordStats.Rejected"/>).
/// </summary>
public sealed class TraceRecorder(KafkaClients kafka, TraceRecorderOptions options, TimeProvider time)
{
    /// <summary>Records until <paramref name="ct"/> is cancelled; the caller disposes the writer (the last block).</summary>
    /// <param name="writer">Where to write.</param>
    /// <param name="progress">Called every <see cref="TraceRecorderOptions.ProgressEvery"/> and at the end.</param>
    /// <param name="rejected">Called with the reason for each record left out.</param>
    /// <param name="ct">Stops the recording.</param>
    public RecordStats Run(TraceWriter writer, Action<RecordStats>? progress, Action<string>? rejected, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(writer);
        using var consumer = Subscribe();
        var recording = new Recording(kafka, writer, time);
        var lastFlush = recording.StartedAt;
        var lastProgress = recording.StartedAt;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                ConsumeResult<string, byte[]>? cr;
                try
                {
                    cr = consumer.Consume(TimeSpan.FromMilliseconds(100));
                }
                catch (ConsumeException e) when (!e.Error.IsFatal)
                {
                    rejected?.Invoke($"consume error: {e.Error.Reason}");
                    continue;
                }
                if (cr?.Message is not null && recording.Append(cr) is { } why)
                {
                    rejected?.Invoke(why);
                }
                if (time.GetElapsedTime(lastFlush) >= options.FlushEvery)
                {
                    writer.Flush();
                    lastFlush = time.GetTimestamp();
                }
                if (time.GetElapsedTime(lastProgress) >= options.ProgressEvery)
                {
                    progress?.Invoke(recording.Stats());
                    lastProgress = time.GetTimestamp();
                }
            }
        }
        finally
        {
            consumer.Close();
            writer.Flush();
        }
        var final = recording.Stats();
        progress?.Invoke(final);
        return final;
    }

    // A consumer of its own (no committed offsets) on samples and inventory, and detections and results when asked.
    private IConsumer<string, byte[]> Subscribe()
    {
        var config = kafka.Consumer("safehaven-recorder-" + Guid.NewGuid().ToString("N"), "safehaven-recorder");
        config.AutoOffsetReset = options.FromBeginning ? AutoOffsetReset.Earliest : AutoOffsetReset.Latest;
        config.EnableAutoCommit = false;
        var consumer = new ConsumerBuilder<string, byte[]>(config).Build();
        var topics = new List<string> { kafka.Topics.Samples, kafka.Topics.Inventory };
        if (options.Detections)
        {
            topics.Add(kafka.Topics.Detections);
        }
        if (options.Results)
        {
            topics.Add(kafka.Topics.Results);
        }
        consumer.Subscribe(topics);
        return consumer;
    }

    // What one recording has read and written: each record checked as its consumers check it, then appended.
    private sealed class Recording(KafkaClients kafka, TraceWriter writer, TimeProvider time)
    {
        // Every entry names the cluster it was read from (TraceRecord.cluster), beside its entity's datacenter.
        private readonly string _cluster = kafka.Options.Cluster;
        private readonly SafeHaven.Kafka.Topics.TopicNames _topics = kafka.Topics;
        private readonly RoleSeals _seals = kafka.Seals;
        private readonly SamplesTopicReader _samples = new(kafka.Serdes);
        private readonly IDeserializer<EntityState> _states = kafka.Serdes.Deserializer<EntityState>();
        private readonly IDeserializer<Detection> _detections = kafka.Serdes.Deserializer<Detection>();
        private readonly IDeserializer<IsolationResult> _results = kafka.Serdes.Deserializer<IsolationResult>();
        private readonly TraceWriter _writer = writer;
        private readonly TimeProvider _time = time;
        private long _nSamples, _nInventory, _nDetections, _nResults, _nRejected;

        public long StartedAt { get; } = time.GetTimestamp();

        public RecordStats Stats() =>
            new(_writer.Records, _nSamples, _nInventory, _nDetections, _nResults, _nRejected, _writer.BytesWritten, _time.GetElapsedTime(StartedAt));

        /// <summary>Appends the record's entries; null when done, else why it was left out (counted as rejected).</summary>
        public string? Append(ConsumeResult<string, byte[]> cr)
        {
            var message = cr.Message;
            try
            {
                var ts = message.Timestamp.UnixTimestampMs * 1_000_000;
                var topic = cr.Topic;
                if (topic == _topics.Samples)
                {
                    _seals.Require(Seals.Kinds.Samples, message);
                    foreach (var s in _samples.Read(message.Value, topic))
                    {
                        _writer.Append(TraceEntry.OfSample(s, ts) with { Cluster = _cluster });
                        _nSamples++;
                    }
                }
                else if (topic == _topics.Inventory)
                {
                    _seals.Require(Seals.Kinds.Inventory, message);
                    var state = message.Value is null ? null : KafkaSerdes.Decode(_states, message.Value, topic);
                    _writer.Append(TraceEntry.OfInventory(message.Key ?? state?.entityId ?? "", state, ts) with { Cluster = _cluster });
                    _nInventory++;
                }
                else if (topic == _topics.Detections)
                {
                    _seals.Require(Seals.Kinds.Detections, message);
                    _writer.Append(TraceEntry.OfDetection(message.Key, KafkaSerdes.Decode(_detections, message.Value, topic), ts) with { Cluster = _cluster });
                    _nDetections++;
                }
                else
                {
                    _seals.Require(Seals.Kinds.Results, message);
                    _writer.Append(TraceEntry.OfResult(KafkaSerdes.Decode(_results, message.Value, topic), ts) with { Cluster = _cluster });
                    _nResults++;
                }
                return null;
            }
            catch (Exception e) when (e is RecordRejectedException or AvroDecodeException)
            {
                _nRejected++;
                return $"{cr.Topic}/{cr.Partition.Value}@{cr.Offset.Value}: {e.Message}";
            }
        }
    }
}
