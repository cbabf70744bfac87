using System.CommandLine;
using SafeHaven.Cli.Configuration;
using SafeHaven.Core;
using SafeHaven.Kafka.Clients;
using SafeHaven.Security;
using SafeHaven.StreamProcessors.Planning;

namespace SafeHaven.Cli.Runtime;

/// <summary>
/// The planner's peer datacenters (docs/SCALING.md §4): <c>--peer DC=HOST:PORT[,…]</c>, <c>--peer-keys DC=DIR</c> and
/// <c>--peer-cluster DC=ID</c> and <c>--peer-prefix DC=PREFIX</c>, each repeatable, over <c>SafeHaven:Planner:Peers</c>
/// (a peer's connection security is <c>SafeHaven:Planner:Peers:N:Security</c> only: no secret on a command line). Every
/// value is checked here: bad input exits 2 naming the flag and the value, or the key and where it was set.
/// </summary>
internal sealed class PeerFlags
{
    public Option<string[]> Peer { get; } = new("--peer")
    {
        Description = "A peer datacenter's Kafka cluster, DATACENTER=HOST:PORT[,…] (repeatable; SafeHaven:Planner:Peers): a detection no level of this " +
            "datacenter can place moves there under an action lease, and that datacenter's planner may book slots in this ledger (docs/SCALING.md §4)",
    };

    public Option<string[]> PeerKeys { get; } = new("--peer-keys")
    {
        Description = "DATACENTER=DIR for each --peer: a directory of that datacenter's planner and agent public keys (.pub)",
    };

    public Option<string[]> PeerCluster { get; } = new("--peer-cluster")
    {
        Description = "DATACENTER=ID: a peer's cluster id (its --cluster; default: its datacenter id)",
    };

    public Option<string[]> PeerPrefix { get; } = new("--peer-prefix")
    {
        Description = "DATACENTER=PREFIX: the prefix of a peer's topic names (its --topic-prefix; default: this process's own)",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Peer);
        command.Options.Add(PeerKeys);
        command.Options.Add(PeerCluster);
        command.Options.Add(PeerPrefix);
    }

    /// <summary>True when any peer flag was given.</summary>
    public bool Given(ParseResult parse) => new Option[] { Peer, PeerKeys, PeerCluster, PeerPrefix }.Any(o => SafeHavenConfig.Passed(parse, o));

    /// <summary>
    /// Applies the flags given over the configured peers (a flag naming a configured datacenter overrides its value),
    /// after <paramref name="datacenter"/> (this planner's, flag or config) is applied; then checks every peer's keys.
    /// </summary>
    public void Apply(ParseResult parse, SafeHavenConfig config, PlannerOptions planner, Option<string> datacenter)
    {
        config.Flag(parse, datacenter, $"{PlannerOptions.SectionName}:{nameof(PlannerOptions.Datacenter)}", v => planner.Datacenter = v);
        if (!Identifiers.IsToken(planner.Datacenter))
        {
            throw new UsageException($"--datacenter: '{Identifiers.Printable(planner.Datacenter)}' is not a valid datacenter id ({config.SourceOf($"{PlannerOptions.SectionName}:{nameof(PlannerOptions.Datacenter)}")})");
        }
        var given = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (dc, bootstrap, text) in Pairs(parse, Peer, planner.Datacenter))
        {
            if (!given.Add(dc))
            {
                throw new UsageException($"--peer {text}: datacenter {dc} is given twice");
            }
            if (PlannerPeer.BootstrapProblem(bootstrap) is { } problem)
            {
                throw new UsageException($"--peer {text}: {problem}");
            }
            PeerOf(planner, dc, create: true)!.BootstrapServers = bootstrap;
        }
        foreach (var (dc, dir, text) in Pairs(parse, PeerKeys, planner.Datacenter))
        {
            var peer = PeerOf(planner, dc, create: false) ?? throw new UsageException($"--peer-keys {text}: {dc} is not a peer (--peer {dc}=HOST:PORT)");
            peer.TrustedKeys = dir;
        }
        foreach (var (dc, id, text) in Pairs(parse, PeerCluster, planner.Datacenter))
        {
            var peer = PeerOf(planner, dc, create: false) ?? throw new UsageException($"--peer-cluster {text}: {dc} is not a peer (--peer {dc}=HOST:PORT)");
            peer.Cluster = Identifiers.IsToken(id) ? id : throw new UsageException($"--peer-cluster {text}: '{Identifiers.Printable(id)}' is not a valid cluster id");
        }
        foreach (var (dc, prefix, text) in Pairs(parse, PeerPrefix, planner.Datacenter))
        {
            var peer = PeerOf(planner, dc, create: false) ?? throw new UsageException($"--peer-prefix {text}: {dc} is not a peer (--peer {dc}=HOST:PORT)");
            peer.TopicPrefix = PlannerPeer.PrefixProblem(prefix) is { } problem ? throw new UsageException($"--peer-prefix {text}: {problem}") : prefix;
        }
        for (var i = 0; i < planner.Peers.Count; i++)
        {
            CheckSecurity(planner.Peers[i], i, config);
            CheckKeys(planner.Peers[i], given.Contains(planner.Peers[i].Datacenter) ? "--peer-keys" : $"{PlannerOptions.SectionName}:Peers:{i}:TrustedKeys ({config.SourceOf($"{PlannerOptions.SectionName}:Peers:{i}:TrustedKeys")})");
        }
    }

    // As the own settings: validated and their secret files read once here, so that a bad value exits 2 naming its key.
    private static void CheckSecurity(PlannerPeer peer, int index, SafeHavenConfig config)
    {
        try
        {
            _ = peer.Security?.Resolve();
        }
        catch (KafkaSecurityException e)
        {
            var key = $"{PlannerOptions.SectionName}:Peers:{index}:Security:{e.Setting}";
            throw new UsageException($"{key} ({config.SourceOf(key)}): peer {Identifiers.Printable(peer.Datacenter)}: {e.Problem}", e);
        }
    }

    // The peer's planner key must be there: without it no answer of that datacenter's planner can be believed.
    private static void CheckKeys(PlannerPeer peer, string where)
    {
        if (string.IsNullOrWhiteSpace(peer.TrustedKeys))
        {
            throw new UsageException($"{where}: peer {peer.Datacenter} needs the directory of its planner's and agents' public keys (--peer-keys {peer.Datacenter}=DIR)");
        }
        if (!Directory.Exists(peer.TrustedKeys))
        {
            throw new UsageException($"{where}: {peer.Datacenter}={Identifiers.Printable(peer.TrustedKeys, 200)}: no such directory");
        }
        try
        {
            if (!SigningKeys.LoadRecordVerifier(peer.TrustedKeys).Trusts(KeyRoles.Planner))
            {
                throw new UsageException($"{where}: {peer.Datacenter}={Identifiers.Printable(peer.TrustedKeys, 200)}: no planner public key there (copy the peer planner's .pub file)");
            }
        }
        catch (KeyFileException e)
        {
            throw new UsageException($"{where}: {peer.Datacenter}={Identifiers.Printable(peer.TrustedKeys, 200)}: {e.Message}", e);
        }
    }

    private static PlannerPeer? PeerOf(PlannerOptions planner, string dc, bool create)
    {
        if (planner.Peers.FirstOrDefault(p => p.Datacenter == dc) is { } found)
        {
            return found;
        }
        if (!create)
        {
            return null;
        }
        var peer = new PlannerPeer { Datacenter = dc };
        planner.Peers.Add(peer);
        return peer;
    }

    // DATACENTER=VALUE, the datacenter an id other than this planner's, the value not empty.
    private static IEnumerable<(string Dc, string Value, string Text)> Pairs(ParseResult parse, Option<string[]> option, string own)
    {
        foreach (var text in parse.GetValue(option) ?? [])
        {
            var eq = text.IndexOf('=', StringComparison.Ordinal);
            var shown = Identifiers.Printable(text);
            if (eq <= 0 || eq == text.Length - 1)
            {
                throw new UsageException($"{option.Name} {shown}: expected DATACENTER=VALUE");
            }
            var dc = text[..eq];
            if (!Identifiers.IsToken(dc))
            {
                throw new UsageException($"{option.Name} {shown}: '{Identifiers.Printable(dc)}' is not a valid datacenter id");
            }
            if (dc == own)
            {
                throw new UsageException($"{option.Name} {shown}: {dc} is this planner's own datacenter (--datacenter)");
            }
            yield return (dc, text[(eq + 1)..], shown);
        }
    }
}
