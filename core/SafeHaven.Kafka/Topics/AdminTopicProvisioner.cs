using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace SafeHaven.Kafka.Topics;

/// <summary>Provisions topics on a real Kafka cluster through the Confluent AdminClient.</summary>
/// <remarks>
/// Missing topics are created with the broker's default replication factor and, where asked,
/// <c>cleanup.policy=compact</c> and <c>min.compaction.lag.ms</c> (<see cref="TopicSpec.Configs"/>). The configs of existing topics are not checked.
/// </remarks>
public sealed class AdminTopicProvisioner : ITopicProvisioner
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    private readonly AdminClientConfig _config;
    private readonly string _bootstrapServers;
    private readonly TimeSpan _timeout;

    /// <summary>Creates a provisioner for the plaintext cluster at <paramref name="bootstrapServers"/>.</summary>
    /// <param name="bootstrapServers">Comma-separated <c>host:port</c> list.</param>
    /// <param name="timeout">Timeout of each metadata and admin request; 30 s by default.</param>
    public AdminTopicProvisioner(string bootstrapServers, TimeSpan? timeout = null)
        : this(new AdminClientConfig { BootstrapServers = bootstrapServers }, timeout)
    {
    }

    /// <summary>Creates a provisioner with a full admin client configuration (security included: <c>KafkaClients.Admin</c>).</summary>
    /// <param name="config">The admin client's settings; its bootstrap servers are required.</param>
    /// <param name="timeout">Timeout of each metadata and admin request; 30 s by default.</param>
    public AdminTopicProvisioner(AdminClientConfig config, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentException.ThrowIfNullOrWhiteSpace(config.BootstrapServers, nameof(config));
        _config = config;
        _bootstrapServers = config.BootstrapServers;
        _timeout = timeout ?? TimeSpan.FromSeconds(30);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_timeout, TimeSpan.Zero, nameof(timeout));
    }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">A topic is missing and the cluster has no CreateTopics API.</exception>
    public async Task<IReadOnlyList<string>> EnsureAsync(IEnumerable<TopicSpec> topics, CancellationToken ct)
    {
        var specs = TopicPlan.Normalize(topics);
        if (specs.Count == 0)
        {
            return [];
        }

        using var admin = TopicPlan.CreateAdmin(_config);
        var existing = await TopicPlan.PartitionCountsAsync(admin, _timeout, ct).ConfigureAwait(false);
        TopicPlan.CheckPartitions(specs, existing, _bootstrapServers);
        var missing = specs.Where(s => !existing.ContainsKey(s.Name)).ToList();
        if (missing.Count == 0)
        {
            return [];
        }

        await EnsureCanCreateTopicsAsync(missing, ct).ConfigureAwait(false);
        var options = new CreateTopicsOptions { RequestTimeout = _timeout, OperationTimeout = _timeout };
        try
        {
            await admin.CreateTopicsAsync(missing.Select(ToSpecification), options).WaitAsync(ct).ConfigureAwait(false);
            return missing.ConvertAll(s => s.Name);
        }
        catch (CreateTopicsException e)
        {
            var failed = e.Results.Where(r => r.Error.Code is not (ErrorCode.NoError or ErrorCode.TopicAlreadyExists)).ToList();
            if (failed.Count > 0 && failed.TrueForAll(r => IsUnsupported(r.Error.Code)))
            {
                throw Unsupported(missing, failed[0].Error.Reason, e);
            }

            if (failed.Count > 0)
            {
                throw new InvalidOperationException(
                    $"Could not create topics on {_bootstrapServers}: {string.Join("; ", failed.Select(r => $"'{r.Topic}': {r.Error.Reason}"))}.", e);
            }

            // Someone else created some of them in the meantime: make sure theirs match ours.
            var raced = e.Results.Where(r => r.Error.Code == ErrorCode.TopicAlreadyExists).Select(r => r.Topic).ToHashSet();
            var now = await TopicPlan.PartitionCountsAsync(admin, _timeout, ct).ConfigureAwait(false);
            TopicPlan.CheckPartitions(missing.Where(s => raced.Contains(s.Name)), now, _bootstrapServers);
            return missing.Where(s => !raced.Contains(s.Name)).Select(s => s.Name).ToList();
        }
        catch (KafkaException e) when (IsUnsupported(e.Error.Code))
        {
            throw Unsupported(missing, e.Error.Reason, e);
        }
        catch (KafkaException e) when (e.Error.Code == ErrorCode.Local_TimedOut)
        {
            throw new InvalidOperationException(
                $"Creating topics {string.Join(", ", missing.Select(s => s.Name))} on {_bootstrapServers} timed out " +
                $"after {_timeout} ({e.Error.Reason}); the cluster may have no active controller.",
                e);
        }
    }

    // CreateTopics goes to the controller, and librdkafka waits for one until the request
    // times out; the mock cluster has neither a controller nor CreateTopics. Ask first.
    private async Task EnsureCanCreateTopicsAsync(List<TopicSpec> missing, CancellationToken ct)
    {
        // The probe speaks plaintext, and the mock cluster it looks for has no TLS or SASL listener: a secured
        // cluster is a real one, and plaintext bytes to its listener would only wait for the probe's timeout.
        if (_config.SecurityProtocol is not (null or SecurityProtocol.Plaintext))
        {
            return;
        }
        var probeTimeout = _timeout < ProbeTimeout ? _timeout : ProbeTimeout;
        var apis = await KafkaApiProbe.TryGetApiKeysAsync(_bootstrapServers, probeTimeout, ct).ConfigureAwait(false);
        if (apis is not null && !apis.Contains(KafkaApiProbe.CreateTopicsKey))
        {
            throw Unsupported(missing, "the broker does not list CreateTopics in its ApiVersions", null);
        }
    }

    /// <summary>What CreateTopics is asked for one spec (its configs included).</summary>
    internal static TopicSpecification ToSpecification(TopicSpec spec) => new()
    {
        Name = spec.Name,
        NumPartitions = spec.Partitions,
        ReplicationFactor = -1,
        Configs = spec.Configs() is { } configs ? new Dictionary<string, string>(configs, StringComparer.Ordinal) : null,
    };

    private static bool IsUnsupported(ErrorCode code) =>
        code is ErrorCode.Local_UnsupportedFeature or ErrorCode.UnsupportedVersion;

    private NotSupportedException Unsupported(List<TopicSpec> missing, string reason, Exception? inner) => new(
        $"The cluster at {_bootstrapServers} does not support CreateTopics, so missing topics cannot be created: " +
        $"{string.Join(", ", missing.Select(s => s.Name))} ({reason}). " +
        "librdkafka's mock cluster (the embedded broker) is such a cluster: create topics through its mock API " +
        "(MockTopicProvisioner) instead.",
        inner);
}
