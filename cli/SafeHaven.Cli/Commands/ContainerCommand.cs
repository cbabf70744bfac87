using System.CommandLine;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Actuators.Container;
using SafeHaven.Actuators.Hosting;
using SafeHaven.Cli.Configuration;
using SafeHaven.Cli.Runtime;
using SafeHaven.Core;

namespace SafeHaven.Cli.Commands;

/// <summary><c>safehaven container</c>: a container agent (container level, CRIU checkpoint/restore) against a cluster.</summary>
internal static class ContainerCommand
{
    public static Command Create()
    {
        var flags = new RoleFlags();
        var containerDir = new Option<string?>("--container-dir") { Description = "This agent's state directory (containers/NAME.json, incoming/, outgoing/); absolute" };
        var agents = new Option<string[]>("--agent") { Description = "Another container agent on this machine as ID=DIR (repeatable): the peers' state directories", AllowMultipleArgumentsPerToken = true };
        var criu = new Option<string>("--criu") { Description = "The criu launcher (deploy/criu/install-criu.sh installs it)", DefaultValueFactory = _ => CriuOptions.DefaultBinary };
        var command = new Command("container", "Run a container agent: execute container-level isolation commands addressed to --id (CRIU checkpoint/restore)")
        {
            containerDir, agents, criu, flags.TrustedKeys, flags.Id, flags.Segment, flags.StateDir,
        };
        flags.AddTo(command, rules: false, actuator: false);
        command.SetAction(async (parse, ct) =>
        {
            var server = flags.Server(parse) ?? throw new UsageException("container needs --bootstrap");
            var identity = new ActuatorIdentity(
                ContainerFlags.Token(flags.DatacenterId(parse), "--datacenter"),
                ContainerFlags.Token(flags.HostId(parse), "--host"),
                flags.SegmentOf(parse));
            // The SafeHaven:Container section first (file, environment), then the flags given.
            var config = SafeHavenConfig.Of(parse);
            var configured = config.Bind<ContainerActuatorOptions>(ContainerActuatorOptions.SectionName);
            var id = ContainerFlags.Token(parse.GetValue(flags.Id) ?? (config.IsSet(ContainerActuatorOptions.SectionName + ":Id") ? configured.Id : identity.Host), "--id");
            var options = ContainerFlags.Options(configured, id, parse.GetValue(containerDir), parse.GetValue(agents) ?? [],
                SafeHavenConfig.Passed(parse, criu) ? parse.GetValue(criu) : null);
            config.Validate(ContainerActuatorOptions.SectionName, options.Validate);
            var journal = ContainerFlags.JournalPath(parse.GetValue(flags.StateDir)!, id);
            var stopAfter = CommonOptions.ParseDuration(parse.GetValue(flags.Duration), "--duration");
            var verifier = flags.Verifier(parse) ?? throw new UsageException("container needs --trusted-keys (the planner's .pub file or directory)");
            using var app = Pipeline.Build(new PipelineSpec(flags.Kafka(parse, server)) { Seals = flags.ActuatorSeals(parse, id), Telemetry = flags.Telemetry.Read(parse, "container") }, LogLevel.Information,
                services => services.AddSafeHavenContainerAgent(options, identity, verifier, journal));
            return await RoleHost.RunAsync(app, stopAfter, ct).ConfigureAwait(false);
        });
        return command;
    }
}

/// <summary>The container verb's flags to <see cref="ContainerActuatorOptions"/>: every id and path checked, each error naming its flag.</summary>
internal static class ContainerFlags
{
    public static string Token(string? value, string flag) =>
        Identifiers.IsToken(value) ? value! : throw new UsageException($"{flag} '{value}' is not a valid id (letters, digits, '.', '_', '-')");

    /// <summary>This agent (<paramref name="id"/> in <paramref name="containerDir"/>), its peers given as ID=DIR, and the criu launcher.</summary>
    public static ContainerActuatorOptions Options(string id, string? containerDir, IEnumerable<string> agents, string criu) =>
        Options(new ContainerActuatorOptions(), id, containerDir, agents, criu);

    /// <summary>
    /// <paramref name="options"/> (the configured section) with this agent's id, its --container-dir (optional when the
    /// section's Agents has this id), the --agent entries over the configured ones, and --criu when given.
    /// </summary>
    public static ContainerActuatorOptions Options(ContainerActuatorOptions options, string id, string? containerDir, IEnumerable<string> agents, string? criu)
    {
        options.Id = id;
        if (criu is not null)
        {
            options.Criu.Binary = Path(criu, "--criu");
        }
        if (containerDir is not null || !options.Agents.ContainsKey(id))
        {
            options.Agents[id] = Site(id, containerDir ?? throw new UsageException("container needs --container-dir (this agent's state directory), or SafeHaven:Container:Agents:<id>"), "--container-dir");
        }
        var given = new HashSet<string>(StringComparer.Ordinal) { id };
        foreach (var entry in agents)
        {
            var eq = entry.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new UsageException($"--agent '{entry}' is not ID=DIR");
            }
            var agent = Token(entry[..eq], "--agent");
            if (!given.Add(agent))
            {
                throw new UsageException($"--agent '{agent}' is given twice (or is this agent's --id)");
            }
            options.Agents[agent] = Site(agent, entry[(eq + 1)..], "--agent " + agent);
        }
        // Two agents sharing a directory would take each other's containers for their own.
        if (options.Agents.Values.Distinct(StringComparer.Ordinal).Count() != options.Agents.Count)
        {
            throw new UsageException("--agent: two agents share one directory (each needs its own, and none may be --container-dir)");
        }
        return options;
    }

    /// <summary>The journal of executed commands under <paramref name="stateDir"/>, or null when it is empty (memory only).</summary>
    public static string? JournalPath(string stateDir, string id)
    {
        if (stateDir.Length == 0)
        {
            return null;
        }
        if (!System.IO.Path.IsPathRooted(stateDir) || stateDir.Any(char.IsControl))
        {
            throw new UsageException($"--state-dir '{stateDir}' must be an absolute path");
        }
        return System.IO.Path.Combine(stateDir, "container-" + id, "executed-commands");
    }

    private static string Site(string id, string dir, string flag)
    {
        try
        {
            return new ContainerSite(id, dir).Root;
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"{flag}: {e.Message}", e);
        }
    }

    private static string Path(string path, string flag)
    {
        try
        {
            return CriuArguments.RequireSafePath(path, flag);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message, e);
        }
    }
}
