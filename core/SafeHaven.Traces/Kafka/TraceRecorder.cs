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
        // Every entry names the cluster it was read from (TraceRecord.cluster), beside its entity's datacenter.
        var cluster = kafka.Options.Cluster;
        var config = kafka.Consumer("safehaven-recorder-" + Guid.NewGuid().ToString("N"), "safehaven-recorder");
        config.AutoOffsetReset = options.FromBeginning ? AutoOffsetReset.Earliest : AutoOffsetReset.Latest;
        config.EnableAutoCommit = false;
        using var consumer = new ConsumerBuilder<string, byte[]>(config).Build();
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
        var samples = new SamplesTopicReader(kafka.Serdes);
        var states = kafka.Serdes.Deserializer<EntityState>();
        var detections = kafka.Serdes.Deserializer<Detection>();
        var results = kafka.Serdes.Deserializer<IsolationResult>();
        long nSamples = 0, nInventory = 0, nDetections = 0, nResults = 0, nRejected = 0;
        var start = time.GetTimestamp();
        var lastFlush = start;
        var lastProgress = start;
        RecordStats Stats() => new(writer.Records, nSamples, nInventory, nDetections, nResults, nRejected, writer.BytesWritten, time.GetElapsedTime(start));
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
                if (cr?.Message is { } message)
                {
                    try
                    {
                        var ts = message.Timestamp.UnixTimestampMs * 1_000_000;
                        var topic = cr.Topic;
                        if (topic == kafka.Topics.Samples)
                        {
                            kafka.Seals.Require(Seals.Kinds.Samples, message);
                            foreach (var s in samples.Read(message.Value, topic))
                            {
                                writer.Append(TraceEntry.OfSample(s, ts) with { Cluster = cluster });
                                nSamples++;
                            }
                        }
                        else if (topic == kafka.Topics.Inventory)
                        {
                            kafka.Seals.Require(Seals.Kinds.Inventory, message);
                            var state = message.Value is null ? null : KafkaSerdes.Decode(states, message.Value, topic);
                            writer.Append(TraceEntry.OfInventory(message.Key ?? state?.entityId ?? "", state, ts) with { Cluster = cluster });
                            nInventory++;
                        }
                        else if (topic == kafka.Topics.Detections)
                        {
                            kafka.Seals.Require(Seals.Kinds.Detections, message);
                            writer.Append(TraceEntry.OfDetection(message.Key, KafkaSerdes.Decode(detections, message.Value, topic), ts) with { Cluster = cluster });
                            nDetections++;
                        }
                        else
                        {
                            kafka.Seals.Require(Seals.Kinds.Results, message);
                            writer.Append(TraceEntry.OfResult(KafkaSerdes.Decode(results, message.Value, topic), ts) with { Cluster = cluster });
                            nResults++;
                        }
                    }
                    catch (Exception e) when (e is RecordRejectedException or AvroDecodeException)
                    {
                        nRejected++;
                        rejected?.Invoke($"{cr.Topic}/{cr.Partition.Value}@{cr.Offset.Value}: {e.Message}");
                    }
                }
                if (time.GetElapsedTime(lastFlush) >= options.FlushEvery)
                {
                    writer.Flush();
                    lastFlush = time.GetTimestamp();
                }
                if (time.GetElapsedTime(lastProgress) >= options.ProgressEvery)
                {
                    progress?.Invoke(Stats());
                    lastProgress = time.GetTimestamp();
                }
            }
        }
        finally
        {
            consumer.Close();
            writer.Flush();
        }
        var final = Stats();
        progress?.Invoke(final);
        return final;
    }
}
