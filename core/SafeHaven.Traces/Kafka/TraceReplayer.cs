using Confluent.Kafka;
using SafeHaven.Kafka.Clients;
using SafeHaven.Schemas;
using SafeHaven.Security;
using SafeHaven.Core;

namespace SafeHaven.Traces.Kafka;

/// <summary>What a replay sent and left out.</summary>
public sealed record ReplayStats
{
    /// <summary>SampleBatch records published.</summary>
    public long Batches { get; init; }

    /// <summary>Samples inside them.</summary>
    public long Samples { get; init; }

    /// <summary>Inventory records (tombstones included) published.</summary>
    public long Inventory { get; init; }

    /// <summary>Detections, results and actuator capability records in the trace, not replayed (the detector and agents make their own).</summary>
    public long Skipped { get; init; }

    /// <summary>Records sent unsealed because no key speaks for their host.</summary>
    public long Unsealed { get; init; }

    /// <summary>Records the broker did not acknowledge.</summary>
    public long Failed { get; init; }
}

/// <summary>
/// Publishes a trace's samples (re-batched per host and tick, <see cref="SampleRebatcher"/>) and inventory to the
/// deployment's topics at the recorded pace, a multiple of it, or as fast as possible, sealed as the probes sealed them
/// (<see cref="ReplaySealer"/>). Detections, results and agents' capability records in the trace are not replayed.
/// </summary>
public sealed class TraceReplayer(KafkaClients kafka, ReplaySealer sealer, TimeProvider time)
{
    /// <summary>Replays <paramref name="entries"/>; returns when every record is acknowledged (or failed).</summary>
    /// <param name="entries">The trace, in file order.</param>
    /// <param name="pacer">The speed.</param>
    /// <param name="onUnsealed">Called once per host that no key speaks for.</param>
    /// <param name="ct">Stops the replay after the current record.</param>
    public async Task<ReplayStats> RunAsync(IEnumerable<TraceEntry> entries, ReplayPacer pacer, Action<string>? onUnsealed = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(pacer);
        var config = kafka.Producer("safehaven-replay");
        // As fast as possible: fuller producer batches (the mock broker returns one batch per partition per fetch).
        config.LingerMs = pacer.Speed is null ? 10 : 0;
        using var producer = new ProducerBuilder<string, byte[]>(config).Build();
        var replay = new Replay(this, kafka, sealer, time, producer, pacer, onUnsealed, ct);
        foreach (var entry in entries)
        {
            if (ct.IsCancellationRequested)
            {
                break;
            }
            await replay.AddAsync(entry).ConfigureAwait(false);
        }
        if (!ct.IsCancellationRequested)
        {
            await replay.SendBatchAsync().ConfigureAwait(false);
        }
        // Every record out before returning: a replay that exits early would lose the tail.
        producer.Flush(TimeSpan.FromSeconds(30));
        return replay.Stats with { Failed = replay.Failed + producer.Flush(TimeSpan.Zero) };
    }

    private void SendInventory(IProducer<string, byte[]> producer, Confluent.Kafka.ISerializer<EntityState> states, TraceEntry entry,
        Action<DeliveryReport<string, byte[]>> onDelivery, Func<RecordSigner?, string, string, (RecordSigner, string)?> seal)
    {
        var key = entry.Key ?? entry.Inventory?.entityId ?? "";
        // The subject is the host the record speaks for: DATACENTER/HOST, the first two parts of the entity id.
        var parts = (entry.Inventory?.entityId ?? key).Split('/');
        var subject = entry.Inventory is { } s ? $"{s.entity.datacenter}/{s.entity.host}" : parts.Length >= 2 ? $"{parts[0]}/{parts[1]}" : key;
        var sealWith = seal(sealer.ForInventory(subject), subject, Seals.Kinds.Inventory);
        if (entry.Inventory is { } state)
        {
            ConsumeLoop.Produce(producer, states, kafka.Topics.Inventory, key, state, onDelivery, sealWith);
            return;
        }
        var tombstone = new Message<string, byte[]> { Key = key, Value = null! };
        if (sealWith is { } w)
        {
            tombstone.Headers = Seals.Headers(w.Item1, w.Item2, key, null);
        }
        producer.Produce(kafka.Topics.Inventory, tombstone, onDelivery);
    }

    // One replay in progress: samples re-batched per host and tick, paced, sealed, counted.
    private sealed class Replay(TraceReplayer owner, KafkaClients kafka, ReplaySealer sealer, TimeProvider time, IProducer<string, byte[]> producer,
        ReplayPacer pacer, Action<string>? onUnsealed, CancellationToken ct)
    {
        private readonly Confluent.Kafka.ISerializer<SampleBatch> _batches = kafka.Serdes.Serializer<SampleBatch>();
        private readonly Confluent.Kafka.ISerializer<EntityState> _states = kafka.Serdes.Serializer<EntityState>();
        private readonly SampleRebatcher _rebatcher = new();
        private readonly HashSet<string> _warned = new(StringComparer.Ordinal);
        private readonly KafkaClients _kafka = kafka;
        private readonly TimeProvider _time = time;
        private readonly long _start = time.GetTimestamp();
        private long _failed;

        public ReplayStats Stats { get; private set; } = new();

        /// <summary>Records the broker refused so far.</summary>
        public long Failed => Interlocked.Read(ref _failed);

        /// <summary>Takes one trace entry: a sample joins the batch being built (or, from another tick, sends it first).</summary>
        public async Task AddAsync(TraceEntry entry)
        {
            if (entry.Kind == TraceKind.Samples && _rebatcher.Continues(entry))
            {
                _rebatcher.Add(entry);
                return;
            }
            await SendBatchAsync().ConfigureAwait(false);
            switch (entry.Kind)
            {
                case TraceKind.Samples:
                    _rebatcher.Add(entry);
                    break;
                case TraceKind.Inventory when entry.Inventory?.kind == InventoryKinds.Actuator:
                    // An agent's capability record is the agent's own word (sealed by its key): live agents announce
                    // themselves; a replay reproduces what probes sent.
                    Stats = Stats with { Skipped = Stats.Skipped + 1 };
                    break;
                case TraceKind.Inventory:
                    await PaceAsync(entry.PaceNs).ConfigureAwait(false);
                    owner.SendInventory(producer, _states, entry, OnDelivery, Seal);
                    Stats = Stats with { Inventory = Stats.Inventory + 1 };
                    break;
                default:
                    Stats = Stats with { Skipped = Stats.Skipped + 1 };
                    break;
            }
        }

        /// <summary>Sends the batch being built, if any, at its pace.</summary>
        public async Task SendBatchAsync()
        {
            var pace = _rebatcher.PaceNs;
            SampleBatch? batch;
            try
            {
                batch = _rebatcher.Take();
            }
            catch (ArgumentException)
            {
                // A sample whose entity names another host than its own: no probe could have sent it.
                Stats = Stats with { Skipped = Stats.Skipped + 1 };
                return;
            }
            if (batch is null)
            {
                return;
            }
            await PaceAsync(pace).ConfigureAwait(false);
            var subject = $"{batch.datacenter}/{batch.host}";
            ConsumeLoop.Produce(producer, _batches, _kafka.Topics.Samples, batch.host, batch, OnDelivery,
                Seal(sealer.ForSamples(subject), subject, Seals.Kinds.Samples));
            Stats = Stats with { Batches = Stats.Batches + 1, Samples = Stats.Samples + batch.samples.Count };
        }

        private void OnDelivery(DeliveryReport<string, byte[]> r)
        {
            if (r.Error.IsError)
            {
                Interlocked.Increment(ref _failed);
            }
        }

        private (RecordSigner, string)? Seal(RecordSigner? signer, string subject, string kind)
        {
            if (signer is null)
            {
                Stats = Stats with { Unsealed = Stats.Unsealed + 1 };
                if (_warned.Add(subject + " " + kind))
                {
                    onUnsealed?.Invoke($"{subject} ({kind})");
                }
                return null;
            }
            return (signer, kind);
        }

        private async Task PaceAsync(long paceNs)
        {
            var delay = pacer.Delay(paceNs, _time.GetElapsedTime(_start));
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, _time, ct).ConfigureAwait(false);
            }
        }
    }
}
