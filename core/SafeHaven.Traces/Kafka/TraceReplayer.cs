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
        var batches = kafka.Serdes.Serializer<SampleBatch>();
        var states = kafka.Serdes.Serializer<EntityState>();
        var rebatcher = new SampleRebatcher();
        var stats = new ReplayStats();
        long failed = 0;
        var warned = new HashSet<string>(StringComparer.Ordinal);
        var start = time.GetTimestamp();
        void OnDelivery(DeliveryReport<string, byte[]> r)
        {
            if (r.Error.IsError)
            {
                Interlocked.Increment(ref failed);
            }
        }
        (RecordSigner, string)? Seal(RecordSigner? signer, string subject, string kind)
        {
            if (signer is null)
            {
                stats = stats with { Unsealed = stats.Unsealed + 1 };
                if (warned.Add(subject + " " + kind))
                {
                    onUnsealed?.Invoke($"{subject} ({kind})");
                }
                return null;
            }
            return (signer, kind);
        }
        async Task Pace(long paceNs)
        {
            var delay = pacer.Delay(paceNs, time.GetElapsedTime(start));
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, time, ct).ConfigureAwait(false);
            }
        }
        async Task SendBatch()
        {
            var pace = rebatcher.PaceNs;
            SampleBatch? batch;
            try
            {
                batch = rebatcher.Take();
            }
            catch (ArgumentException)
            {
                // A sample whose entity names another host than its own: no probe could have sent it.
                stats = stats with { Skipped = stats.Skipped + 1 };
                return;
            }
            if (batch is null)
            {
                return;
            }
            await Pace(pace).ConfigureAwait(false);
            var subject = $"{batch.datacenter}/{batch.host}";
            ConsumeLoop.Produce(producer, batches, kafka.Topics.Samples, batch.host, batch, OnDelivery, Seal(sealer.ForSamples(subject), subject, Seals.Kinds.Samples));
            stats = stats with { Batches = stats.Batches + 1, Samples = stats.Samples + batch.samples.Count };
        }
        foreach (var entry in entries)
        {
            if (ct.IsCancellationRequested)
            {
                break;
            }
            if (entry.Kind == TraceKind.Samples && rebatcher.Continues(entry))
            {
                rebatcher.Add(entry);
                continue;
            }
            await SendBatch().ConfigureAwait(false);
            switch (entry.Kind)
            {
                case TraceKind.Samples:
                    rebatcher.Add(entry);
                    break;
                case TraceKind.Inventory when entry.Inventory?.kind == InventoryKinds.Actuator:
                    // An agent's capability record is the agent's own word (sealed by its key): live agents announce
                    // themselves; a replay reproduces what probes sent.
                    stats = stats with { Skipped = stats.Skipped + 1 };
                    break;
                case TraceKind.Inventory:
                    await Pace(entry.PaceNs).ConfigureAwait(false);
                    SendInventory(producer, states, entry, OnDelivery, Seal);
                    stats = stats with { Inventory = stats.Inventory + 1 };
                    break;
                default:
                    stats = stats with { Skipped = stats.Skipped + 1 };
                    break;
            }
        }
        if (!ct.IsCancellationRequested)
        {
            await SendBatch().ConfigureAwait(false);
        }
        // Every record out before returning: a replay that exits early would lose the tail.
        producer.Flush(TimeSpan.FromSeconds(30));
        return stats with { Failed = Interlocked.Read(ref failed) + producer.Flush(TimeSpan.Zero) };
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
}
