using System.CommandLine;
using SafeHaven.Core;
using SafeHaven.Core.Rules;

namespace SafeHaven.Cli.Commands;

/// <summary>The flags several verbs share (docs/DESIGN.md §6), each parsed and validated in one place.</summary>
internal static class CommonOptions
{
    public static Option<string?> Bootstrap() => new("--bootstrap") { Description = "Kafka bootstrap servers host:port[,…] (default: the embedded broker where a verb can start one)" };

    public static Option<string?> SchemaRegistry() => new("--schema-registry") { Description = "Schema Registry URL; without it values use Avro single-object encoding" };

    public static Option<FileInfo?> Rules() => new("--rules") { Description = "Rules file (YAML, docs/DESIGN.md §5)" };

    /// <summary>
    /// <c>--config FILE</c>: one option, recursive from the root, so that every verb takes it (and a bad file fails every
    /// verb the same way, before it starts).
    /// </summary>
    public static Option<FileInfo?> ConfigFile { get; } = new("--config")
    {
        Description = "Configuration file, JSON or YAML (.yaml/.yml), with SafeHaven:<Component> sections (examples/safehaven.yaml; docs/OPERATIONS.md). " +
            "Precedence: flags given > SAFEHAVEN__<Component>__<Key> environment variables > file > defaults",
        Recursive = true,
    };

    public static Option<bool> DryRun() => new("--dry-run") { Description = "Plan and verify only: actuators touch nothing" };

    public static Option<string?> IsolationCpus() => new("--isolation-cpus") { Description = "This host's isolation pool, e.g. '3' or '2-3' (default: the highest online CPU)" };

    public static Option<string?> Duration() => new("--duration") { Description = "Stop after this long (e.g. 30s, 2m); default: until interrupted" };

    public static Option<bool> Json() => new("--json") { Description = "Machine-readable JSON on stdout" };

    public static Option<string?> Id() => new("--id") { Description = "Actuator id (default: the host name)" };

    public static Option<string?> HostId() => new("--host") { Description = "Host id published in samples (default: the host name)" };

    public static Option<string> Datacenter() => new("--datacenter") { Description = "Datacenter id", DefaultValueFactory = _ => "local" };

    /// <summary>This deployment's cluster id, written into the detections, commands, results and ledger records a role writes.</summary>
    public static Option<string> Cluster() => new("--cluster")
    {
        Description = "Id of this datacenter's Kafka cluster, written into every detection, command, result and ledger record (their 'cluster' field; docs/SCALING.md)",
        DefaultValueFactory = _ => "local",
    };

    /// <summary>A valid --cluster value, or a usage error naming the flag.</summary>
    public static string ClusterId(string? value) => SafeHaven.Core.Identifiers.IsToken(value)
        ? value!
        : throw new UsageException($"--cluster: '{SafeHaven.Core.Identifiers.Printable(value ?? "")}' is not a valid id");

    public static Option<string> Prefix() => new("--topic-prefix") { Description = "Prefix of every topic name", DefaultValueFactory = _ => "safehaven." };

    public static Option<int> Partitions() => new("--partitions") { Description = "Partitions per topic when creating topics", DefaultValueFactory = _ => 3 };

    /// <summary>Parses a duration flag, or null when absent.</summary>
    public static TimeSpan? ParseDuration(string? text, string flag)
    {
        if (text is null)
        {
            return null;
        }
        if (!Durations.TryParse(text, out var value, out var error) || value <= TimeSpan.Zero)
        {
            throw new UsageException($"{flag}: {(error.Length > 0 ? error : "must be positive")}");
        }
        return value;
    }

    /// <summary>Loads a rules file; a bad file is a usage error naming file and line.</summary>
    public static RuleSet LoadRules(FileInfo file)
    {
        try
        {
            return RulesParser.Load(file.FullName);
        }
        catch (RulesFormatException e)
        {
            throw new UsageException(e.Message, e);
        }
    }

    /// <summary>The isolation pool: the flag's CPUs, all online, leaving a shared CPU; default the highest online CPU.</summary>
    public static CpuList ParsePool(string? text, CpuList online)
    {
        if (online.Count < 2)
        {
            throw new UsageException($"isolation needs at least 2 online CPUs; this host has {online}");
        }
        if (text is null)
        {
            return CpuList.Of([online.Cpus.Max()]);
        }
        if (!CpuList.TryParse(text, out var pool, out var error) || pool.IsEmpty)
        {
            throw new UsageException($"--isolation-cpus: {(error.Length > 0 ? error : "empty CPU list")}");
        }
        var missing = pool.Except(online);
        if (!missing.IsEmpty)
        {
            throw new UsageException($"--isolation-cpus '{text}': CPU {missing} does not exist or is offline (online: {online})");
        }
        if (online.IsSubsetOf(pool))
        {
            throw new UsageException($"--isolation-cpus '{text}' takes every online CPU ({online}): no shared CPU would be left");
        }
        return pool;
    }
}
