using System.Collections.Concurrent;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.DeadLetters;
using SafeHaven.Probes.Inventory;
using SafeHaven.Probes.Proc;
using SafeHaven.Schemas;
using SafeHaven.Core;

namespace SafeHaven.Probes.Hosting;

/// <summary>
/// Publishes this host's inventory to the compacted <c>safehaven.inventory</c> topic, keyed by
/// entity id: the host and every watched process, again only when their facts change, and a
/// tombstone when one goes away. What to send is <see cref="InventoryDiff"/>'s decision; this
/// class only reads the facts and produces.
/// </summary>
public sealed partial class InventoryPublisher : IDisposable
{
    private readonly IProducer<string, byte[]> _producer;
    private readonly RoleSeals _seals;
    private readonly ISerializer<EntityState> _serializer;
    private readonly string _topic;
    private readonly ProbeOptions _options;
    private readonly TenantSelectors _tenants;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ProcFs _proc;
    private readonly string _sysRoot;
    // What the topic holds for our keys as far as we know; only the publishing thread touches it.
    private readonly Dictionary<string, EntityState> _published = new(StringComparer.Ordinal);
    // Keys whose delivery failed for good (reported on librdkafka's thread): sent again next round.
    private readonly ConcurrentQueue<string> _undelivered = new();
    private long _failed;

    /// <summary>Creates the publisher with its own idempotent producer; validates <paramref name="options"/>.</summary>
    public InventoryPublisher(KafkaClients kafka, ProbeOptions options, TimeProvider time, ILogger? logger = null)
        : this(kafka, options, time, logger, ProcFs.Default, "/sys")
    {
    }

    internal InventoryPublisher(KafkaClients kafka, ProbeOptions options, TimeProvider time, ILogger? logger, ProcFs proc, string sysRoot)
    {
        ArgumentNullException.ThrowIfNull(kafka);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _tenants = TenantSelectors.Parse(options.Tenants);
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? NullLogger.Instance;
        _proc = proc;
        _sysRoot = sysRoot;
        _producer = new ProducerBuilder<string, byte[]>(kafka.Producer("probe-inventory-" + options.HostId)).Build();
        _serializer = kafka.Serdes.Serializer<EntityState>();
        _topic = kafka.Topics.Inventory;
        _seals = kafka.Seals;
    }

    /// <summary>Inventory records whose delivery failed (each is sent again on the next round).</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Publishes once now, then once per period, until <paramref name="ct"/> is cancelled.</summary>
    public async Task RunAsync(Sampler sampler, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        using var timer = new PeriodicTimer(_options.Period, _time);
        try
        {
            do
            {
                try
                {
                    Publish(sampler);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogRoundFailed(e);
                }
            }
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Normal shutdown: entities stay in the inventory, they are still running.
        }
    }

    /// <summary>Publishes what changed in the sampler's host and watched processes; returns the number of records produced.</summary>
    public int Publish(Sampler sampler)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        var watched = sampler.WatchedPids.ToHashSet();
        var processes = sampler.Discovered.Where(p => watched.Contains(p.Identity.Pid)).Select(p => ProcessFacts.Read(p, _proc));
        return Publish(BuildView(processes, sampler.CounterStatus));
    }

    /// <summary>The current view: host topology read now, plus <paramref name="processes"/>.</summary>
    public IReadOnlyDictionary<string, EntityState> BuildView(IEnumerable<ProcessFacts> processes, IReadOnlyDictionary<string, string> counterStatus) =>
        InventoryBuilder.View(_options, HostTopology.Read(_sysRoot), _tenants, counterStatus, processes, _time.NowNs());

    /// <summary>Produces the difference between what was published and <paramref name="view"/>; returns the number of records produced.</summary>
    public int Publish(IReadOnlyDictionary<string, EntityState> view)
    {
        ArgumentNullException.ThrowIfNull(view);
        while (_undelivered.TryDequeue(out string? key))
        {
            _published.Remove(key);
        }
        int produced = 0;
        foreach (var change in InventoryDiff.Compute(_published, view))
        {
            try
            {
                var message = new Message<string, byte[]>
                {
                    Key = change.Key,
                    // A null value is the tombstone compaction removes the key for.
                    Value = change.State is null ? null! : _serializer.Serialize(change.State, new SerializationContext(MessageComponentType.Value, _topic)),
                };
                if (_seals.Probe is { } probeKey)
                {
                    // Tombstones too: a forged one would free a slot its entity still holds.
                    message.Headers = Seals.Headers(probeKey, Seals.Kinds.Inventory, message.Key, message.Value);
                }
                _producer.Produce(_topic, message, OnDelivery);
            }
            catch (ProduceException<string, byte[]> e)
            {
                // Queue full or similar: _published keeps the old state, so the diff retries next round.
                LogProduceFailed(change.Key, e.Error.Reason);
                continue;
            }
            produced++;
            if (change.State is null)
            {
                _published.Remove(change.Key);
            }
            else
            {
                _published[change.Key] = change.State;
            }
        }
        return produced;
    }

    /// <summary>Waits up to <paramref name="timeout"/> for produced records to be delivered.</summary>
    public void Flush(TimeSpan timeout) => _producer.Flush(timeout);

    private void OnDelivery(DeliveryReport<string, byte[]> report)
    {
        if (report.Error.IsError)
        {
            Interlocked.Increment(ref _failed);
            _undelivered.Enqueue(report.Message.Key);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _producer.Flush(TimeSpan.FromSeconds(5));
        _producer.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Inventory record {Key} not produced ({Reason}); retried next round")]
    private partial void LogProduceFailed(string key, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Inventory round failed; continuing with the next one")]
    private partial void LogRoundFailed(Exception e);
}
