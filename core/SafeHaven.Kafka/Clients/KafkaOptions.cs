using SafeHaven.Kafka.Topics;

namespace SafeHaven.Kafka.Clients;

/// <summary>Kafka settings shared by every role (config section <c>SafeHaven:Kafka</c>).</summary>
public sealed class KafkaOptions
{
    /// <summary>Config section name.</summary>
    public const string SectionName = "SafeHaven:Kafka";

    /// <summary>Bootstrap servers, <c>host:port[,…]</c>. Required (the embedded broker fills it in).</summary>
    public string BootstrapServers { get; set; } = "";

    /// <summary>Schema Registry URL; empty (default) means Avro single-object encoding without a registry.</summary>
    public string SchemaRegistryUrl { get; set; } = "";

    /// <summary>Prefix of every topic name. Defaults to <c>safehaven.</c>.</summary>
    public string TopicPrefix { get; set; } = TopicNames.DefaultPrefix;

    /// <summary>Partitions of each topic the provisioner creates. Defaults to 3.</summary>
    public int Partitions { get; set; } = 3;

    /// <summary>
    /// Tune clients for latency over batching (linger 0, fetch wait 1 ms). Defaults to true: a
    /// detection should not wait for a batch to fill. Turn off for bulk replay.
    /// </summary>
    public bool LowLatency { get; set; } = true;

    /// <summary>
    /// Linger of the probe's sample producer, in ms. Defaults to 0. A probe publishes one
    /// <c>SampleBatch</c> record per sampling tick (every process of the tick in it), keyed by its
    /// host, so nothing else arrives within a linger to share the batch: a linger only delays every
    /// tick, early publications included, by its full length (5 ms was the default while every sample
    /// was a record of its own; docs/PERFORMANCE.md, 2026-12-04 "demo sample→result"). Records queued
    /// while a request is in flight are still batched together.
    /// </summary>
    public int SampleLingerMs { get; set; }

    /// <summary>
    /// Limits every consumer checks a decoded record against before it can change any state (field lengths, map sizes,
    /// pid range, timestamps within a window of now); records outside them are dead-lettered with the reason.
    /// </summary>
    /// <remarks>A fresh instance (equal to <see cref="SafeHaven.Core.Bounds.RecordBounds.Default"/>): configuration binds into it, and must not change the shared default.</remarks>
    public SafeHaven.Core.Bounds.RecordBounds Bounds { get; set; } = new();

    /// <summary>
    /// This deployment's cluster id (<c>--cluster</c>, default <c>local</c>): written into the detections, commands, results
    /// and ledger records this process writes (their <c>cluster</c> field), so that records from several clusters stay
    /// apart in the aggregate cluster MirrorMaker 2 feeds (docs/SCALING.md §4).
    /// </summary>
    public string Cluster { get; set; } = "local";

    /// <summary>Authentication and encryption of every client's connections (TLS, SASL/SCRAM, mTLS). Defaults to plaintext.</summary>
    public KafkaSecurityOptions Security { get; set; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(BootstrapServers))
        {
            throw new ArgumentException($"{SectionName}:{nameof(BootstrapServers)}: no bootstrap servers configured (SafeHaven:Kafka:BootstrapServers or --bootstrap).");
        }
        foreach (var server in BootstrapServers.Split(','))
        {
            var colon = server.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(server.AsSpan(colon + 1), out var port) || port is < 1 or > 65535)
            {
                throw new ArgumentException($"{SectionName}:{nameof(BootstrapServers)}: bootstrap server '{server}' is not host:port");
            }
        }
        if (SchemaRegistryUrl.Length > 0 && !Uri.TryCreate(SchemaRegistryUrl, UriKind.Absolute, out _))
        {
            throw new ArgumentException($"{SectionName}:{nameof(SchemaRegistryUrl)}: schema registry URL '{SchemaRegistryUrl}' is not an absolute URL");
        }
        if (SampleLingerMs is < 0 or > 1000)
        {
            throw new ArgumentException($"{SectionName}:{nameof(SampleLingerMs)}: sample linger must be 0..1000 ms, got {SampleLingerMs}");
        }
        if (Partitions is < 1 or > 1000)
        {
            throw new ArgumentException($"{SectionName}:{nameof(Partitions)}: partitions must be 1..1000, got {Partitions}");
        }
        if (!SafeHaven.Core.Identifiers.IsToken(Cluster))
        {
            throw new ArgumentException($"{SectionName}:{nameof(Cluster)}: cluster '{SafeHaven.Core.Identifiers.Printable(Cluster ?? "")}' is not a valid id");
        }
        _ = new TopicNames(TopicPrefix);
        Security.Validate();
    }
}
