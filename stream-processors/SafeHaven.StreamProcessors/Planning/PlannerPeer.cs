using SafeHaven.Core;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Topics;

namespace SafeHaven.StreamProcessors.Planning;

/// <summary>
/// Another datacenter's cluster, for the moves that must leave this datacenter and the ones that come in from it
/// (docs/SCALING.md §4; config <c>SafeHaven:Planner:Peers</c>, flags <c>--peer</c>, <c>--peer-keys</c>, <c>--peer-cluster</c>,
/// <c>--peer-prefix</c>; the peer's connection security is configuration only, so that no secret reaches a command line).
/// </summary>
public sealed class PlannerPeer
{
    /// <summary>The peer's datacenter id (a token, not this planner's). Required.</summary>
    public string Datacenter { get; set; } = "";

    /// <summary>Its cluster's bootstrap servers, <c>host:port[,…]</c>. Required.</summary>
    public string BootstrapServers { get; set; } = "";

    /// <summary>
    /// A directory of the peer's public keys: its planner's (reservation answers, its lease records, and moves it leads into
    /// this datacenter) and its agents' (results of the commands this planner sends there). Required.
    /// </summary>
    public string TrustedKeys { get; set; } = "";

    /// <summary>The peer's cluster id (its <c>SafeHaven:Kafka:Cluster</c>); empty: the datacenter id.</summary>
    public string Cluster { get; set; } = "";

    /// <summary>
    /// The prefix of the peer's topic names (its <c>SafeHaven:Kafka:TopicPrefix</c>); null (unset, the default): this
    /// planner's own prefix. Checked like the own prefix (every topic name it makes must be legal).
    /// </summary>
    public string? TopicPrefix { get; set; }

    /// <summary>
    /// How this planner's clients authenticate to the peer's cluster and protect the connection (the shape and checks of
    /// <c>SafeHaven:Kafka:Security</c>: each cluster has its own credentials); null (unset, the default): this planner's own
    /// security settings.
    /// </summary>
    public KafkaSecurityOptions? Security { get; set; }

    /// <summary>The cluster id in force: <see cref="Cluster"/>, or the datacenter id when unset.</summary>
    public string EffectiveCluster => Cluster.Length > 0 ? Cluster : Datacenter;

    /// <summary>Null when <paramref name="servers"/> is a <c>host:port[,…]</c> list; otherwise what is wrong.</summary>
    public static string? BootstrapProblem(string? servers)
    {
        if (string.IsNullOrWhiteSpace(servers))
        {
            return "no bootstrap servers";
        }
        foreach (var server in servers.Split(','))
        {
            var colon = server.LastIndexOf(':');
            var host = colon > 0 ? server[..colon] : "";
            // A host name or IPv4 address (a token), or a bracketed IPv6 address: nothing that could carry other settings.
            var hostOk = Identifiers.IsToken(host) || (host.Length > 2 && host[0] == '[' && host[^1] == ']' && host[1..^1].All(c => char.IsAsciiHexDigit(c) || c is ':' or '.'));
            if (!hostOk || !int.TryParse(server.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port)
                || port is < 1 or > 65535)
            {
                return $"'{Identifiers.Printable(server)}' is not host:port";
            }
        }
        return null;
    }

    /// <summary>Null when <paramref name="prefix"/> makes legal topic names (the check of the own prefix); otherwise what is wrong.</summary>
    public static string? PrefixProblem(string prefix)
    {
        try
        {
            _ = new TopicNames(prefix);
            return null;
        }
        catch (ArgumentException e)
        {
            return e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// The client settings of the peer's cluster: its bootstrap servers, cluster id, and its own prefix and security where
    /// set, else <paramref name="own"/>'s; partitions, bounds and latency tuning are <paramref name="own"/>'s (one deployment).
    /// </summary>
    public KafkaOptions ClientOptions(KafkaOptions own)
    {
        ArgumentNullException.ThrowIfNull(own);
        return new KafkaOptions
        {
            BootstrapServers = BootstrapServers, TopicPrefix = TopicPrefix ?? own.TopicPrefix, Partitions = own.Partitions, Cluster = EffectiveCluster,
            Security = Security ?? own.Security, Bounds = own.Bounds, LowLatency = own.LowLatency,
        };
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting, under <paramref name="key"/>.</summary>
    public void Validate(string key, string ownDatacenter)
    {
        if (!Identifiers.IsToken(Datacenter))
        {
            throw new ArgumentException($"{key}:{nameof(Datacenter)}: peer datacenter '{Identifiers.Printable(Datacenter)}' is not a valid id");
        }
        if (Datacenter == ownDatacenter)
        {
            throw new ArgumentException($"{key}:{nameof(Datacenter)}: peer datacenter '{Datacenter}' is this planner's own");
        }
        if (BootstrapProblem(BootstrapServers) is { } problem)
        {
            throw new ArgumentException($"{key}:{nameof(BootstrapServers)}: {problem}");
        }
        if (string.IsNullOrWhiteSpace(TrustedKeys) || TrustedKeys.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"{key}:{nameof(TrustedKeys)}: the peer {Datacenter} needs a directory of its planner's and agents' public keys");
        }
        if (Cluster.Length > 0 && !Identifiers.IsToken(Cluster))
        {
            throw new ArgumentException($"{key}:{nameof(Cluster)}: peer cluster '{Identifiers.Printable(Cluster)}' is not a valid id");
        }
        if (TopicPrefix is not null && PrefixProblem(TopicPrefix) is { } prefixProblem)
        {
            throw new ArgumentException($"{key}:{nameof(TopicPrefix)}: {prefixProblem}");
        }
        try
        {
            Security?.Validate();
        }
        catch (KafkaSecurityException e)
        {
            throw new ArgumentException($"{key}:{nameof(Security)}:{e.Setting}: {e.Problem}", e);
        }
    }
}
