using Confluent.Kafka;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;

namespace SafeHaven.Cli.Top;

/// <summary>
/// Reads the topics <c>top</c> shows into a <see cref="TopState"/>, as an observer: no consumer group, every partition
/// assigned, the ledger from its start (it is compacted: its latest records are the whole ledger), the other topics
/// from a recent instant, so it works against a long-lived cluster as well as a fresh one.
/// </summary>
internal sealed class TopReader(KafkaClients kafka, TopState state) : IDisposable
{
    /// <summary>Records read back per samples partition: the latest ticks of every host keyed to it.</summary>
    public const long SamplesBacklog = 2_000;

    /// <summary>Records read back per partition of detections, commands, results and dead letters.</summary>
    public const long EventsBacklog = 2_000;

    private readonly IConsumer<string, byte[]> _consumer = new ConsumerBuilder<string, byte[]>(Config(kafka)).Build();

    private readonly SamplesTopicReader _samples = new(kafka.Serdes);
    private readonly IDeserializer<Detection> _detections = kafka.Serdes.Deserializer<Detection>();
    private readonly IDeserializer<IsolationCommand> _commands = kafka.Serdes.Deserializer<IsolationCommand>();
    private readonly IDeserializer<IsolationResult> _results = kafka.Serdes.Deserializer<IsolationResult>();
    private readonly IDeserializer<SlotRecord> _slots = kafka.Serdes.Deserializer<SlotRecord>();
    private readonly IDeserializer<DeadLetter> _deadLetters = kafka.Serdes.Deserializer<DeadLetter>();
    private readonly Dictionary<TopicPartition, long> _endAtStart = [];
    private readonly HashSet<TopicPartition> _pending = [];

    /// <summary>Assigns every partition of the shown topics at its starting offset; remembers where each ended.</summary>
    /// <exception cref="KafkaException">The cluster cannot be reached or a topic does not exist.</exception>
    public void Start(TimeSpan timeout)
    {
        var t = kafka.Topics;
        using var admin = new AdminClientBuilder(kafka.Admin("safehaven-top-admin")).Build();
        var starts = new List<TopicPartitionOffset>();
        // A count back from the end, not a time: the embedded broker answers every timestamp lookup with the end
        // (docs/MACHINE.md). The state keeps only what is recent anyway.
        foreach (var (topic, backlog) in new (string, long?)[]
        {
            (t.Placements, null), (t.Samples, SamplesBacklog), (t.Detections, EventsBacklog), (t.Commands, EventsBacklog),
            (t.Results, EventsBacklog), (t.Dlq, EventsBacklog),
        })
        {
            var meta = admin.GetMetadata(topic, timeout).Topics.Single();
            if (meta.Error.IsError)
            {
                throw new KafkaException(meta.Error);
            }
            foreach (var p in meta.Partitions)
            {
                var tp = new TopicPartition(topic, p.PartitionId);
                var marks = _consumer.QueryWatermarkOffsets(tp, timeout);
                var (low, high) = (marks.Low.Value, marks.High.Value);
                _endAtStart[tp] = high;
                var from = backlog is { } n ? Math.Max(low, high - n) : low;
                starts.Add(new TopicPartitionOffset(tp, new Offset(from)));
                if (from < high)
                {
                    _pending.Add(tp);
                }
            }
        }
        _consumer.Assign(starts);
    }

    /// <summary>True once every partition was read up to where it ended when <see cref="Start"/> ran.</summary>
    public bool CaughtUp => _pending.Count == 0;

    /// <summary>Reads what is there for up to <paramref name="wait"/>; returns how many records were folded in.</summary>
    public int Poll(TimeSpan wait)
    {
        var read = 0;
        var cr = _consumer.Consume(wait);
        while (cr is not null)
        {
            if (cr.IsPartitionEOF || cr.Offset.Value + 1 >= _endAtStart.GetValueOrDefault(cr.TopicPartition))
            {
                _pending.Remove(cr.TopicPartition);
            }
            if (!cr.IsPartitionEOF)
            {
                Fold(cr);
                read++;
            }
            cr = _consumer.Consume(TimeSpan.Zero);
        }
        return read;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _consumer.Close();
        _consumer.Dispose();
    }

    private static ConsumerConfig Config(KafkaClients kafka)
    {
        var config = kafka.Consumer("safehaven-top-" + Guid.NewGuid().ToString("N"), "safehaven-top");
        // End of a partition tells top it has caught up, even where compaction left gaps before the high watermark.
        config.EnablePartitionEof = true;
        return config;
    }

    private void Fold(ConsumeResult<string, byte[]> cr)
    {
        var t = kafka.Topics;
        var v = cr.Message.Value;
        var kind = cr.Topic == t.Samples ? "samples" : cr.Topic == t.Detections ? "detections" : cr.Topic == t.Commands ? "commands"
            : cr.Topic == t.Results ? "results" : cr.Topic == t.Placements ? "placements" : "dlq";
        try
        {
            switch (kind)
            {
                case "samples":
                    foreach (var s in _samples.Read(v, cr.Topic))
                    {
                        state.OnSample(s);
                    }
                    break;
                case "detections":
                    state.OnDetection(KafkaSerdes.Decode(_detections, v, cr.Topic));
                    break;
                case "commands":
                    state.OnCommand(KafkaSerdes.Decode(_commands, v, cr.Topic));
                    break;
                case "results":
                    state.OnResult(KafkaSerdes.Decode(_results, v, cr.Topic));
                    break;
                case "placements":
                    state.OnSlot(cr.Message.Key ?? "", v is null ? null : KafkaSerdes.Decode(_slots, v, cr.Topic));
                    break;
                default:
                    state.OnDeadLetter(KafkaSerdes.Decode(_deadLetters, v, cr.Topic));
                    break;
            }
        }
        catch (Exception e) when (e is AvroDecodeException or ArgumentException or InvalidDataException)
        {
            // top is a view: a record it cannot read is counted and shown, never fatal.
            state.OnUndecodable(kind);
        }
    }
}
