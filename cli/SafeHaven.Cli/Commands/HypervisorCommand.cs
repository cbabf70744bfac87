using System.CommandLine;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Actuators.Hosting;
using SafeHaven.Actuators.Vm;
using SafeHaven.Cli.Configuration;
using SafeHaven.Cli.Runtime;
using SafeHaven.Core;

namespace SafeHaven.Cli.Commands;

/// <summary><c>safehaven hypervisor</c>: a hypervisor agent (VM level, plain QEMU guests through QMP) against a cluster.</summary>
internal static class HypervisorCommand
{
    public static Command Create()
    {
        var flags = new RoleFlags();
        var guestDir = new Option<string?>("--guest-dir") { Description = "Directory of this agent's guests (NAME.qmp, NAME.serial, NAME.json); absolute, short enough for unix socket paths" };
        var agents = new Option<string[]>("--agent") { Description = "Another hypervisor agent on this machine as ID=DIR (repeatable): the target agents' guest directories", AllowMultipleArgumentsPerToken = true };
        var backend = new Option<string>("--backend") { Description = "qmp: plain QEMU guests driven over QMP; libvirt: guests of libvirt daemons (--libvirt)", DefaultValueFactory = _ => VmBackends.Qmp };
        backend.AcceptOnlyFromAmong(VmBackends.Qmp, VmBackends.Libvirt);
        var libvirt = new Option<string[]>("--libvirt") { Description = "With --backend libvirt: ID=URI of each agent's libvirt daemon, this agent's included (repeatable)", AllowMultipleArgumentsPerToken = true };
        var command = new Command("hypervisor", "Run a hypervisor agent: execute VM-level isolation commands addressed to --id (live migration, post-copy)")
        {
            guestDir, agents, backend, libvirt, flags.TrustedKeys, flags.Id, flags.Segment, flags.StateDir,
        };
        flags.AddTo(command, rules: false, actuator: false);
        command.SetAction(async (parse, ct) =>
        {
            var server = flags.Server(parse) ?? throw new UsageException("hypervisor needs --bootstrap");
            var identity = new ActuatorIdentity(
                HypervisorFlags.Token(flags.DatacenterId(parse), "--datacenter"),
                HypervisorFlags.Token(flags.HostId(parse), "--host"),
                flags.SegmentOf(parse));
            // The SafeHaven:Hypervisor section first (file, environment), then the flags given.
            var config = SafeHavenConfig.Of(parse);
            var configured = config.Bind<VmActuatorOptions>(VmActuatorOptions.SectionName);
            var id = HypervisorFlags.Token(parse.GetValue(flags.Id) ?? (config.IsSet(VmActuatorOptions.SectionName + ":Id") ? configured.Id : identity.Host), "--id");
            var options = HypervisorFlags.Options(configured, id, parse.GetValue(guestDir), parse.GetValue(agents) ?? []);
            HypervisorFlags.Libvirt(options, SafeHavenConfig.Passed(parse, backend) || !config.IsSet(VmActuatorOptions.SectionName + ":Backend") ? parse.GetValue(backend)! : configured.Backend,
                parse.GetValue(libvirt) ?? [], config);
            var journal = HypervisorFlags.JournalPath(parse.GetValue(flags.StateDir)!, id);
            var stopAfter = CommonOptions.ParseDuration(parse.GetValue(flags.Duration), "--duration");
            var verifier = flags.Verifier(parse) ?? throw new UsageException("hypervisor needs --trusted-keys (the planner's .pub file or directory)");
            using var app = Pipeline.Build(new PipelineSpec(flags.Kafka(parse, server)) { Seals = flags.ActuatorSeals(parse, id), Telemetry = flags.Telemetry.Read(parse, "hypervisor") }, LogLevel.Information,
                services => services.AddSafeHavenHypervisor(options, identity, verifier, journal));
            return await RoleHost.RunAsync(app, stopAfter, ct).ConfigureAwait(false);
        });
        return command;
    }
}

/// <summary>The hypervisor verb's flags to <see cref="VmActuatorOptions"/>: every id and path checked, each error naming its flag.</summary>
internal static class HypervisorFlags
{
    public static string Token(string? value, string flag) =>
        Identifiers.IsToken(value) ? value! : throw new UsageException($"{flag} '{value}' is not a valid id (letters, digits, '.', '_', '-')");

    /// <summary>This agent (<paramref name="id"/> in <paramref name="guestDir"/>) and the others, given as ID=DIR.</summary>
    public static VmActuatorOptions Options(string id, string? guestDir, IEnumerable<string> agents) => Options(new VmActuatorOptions(), id, guestDir, agents);

    /// <summary>
    /// <paramref name="options"/> (the configured section) with this agent's id, its --guest-dir (optional when the
    /// section's Agents has this id) and the --agent entries over the configured ones.
    /// </summary>
    public static VmActuatorOptions Options(VmActuatorOptions options, string id, string? guestDir, IEnumerable<string> agents)
    {
        options.Id = id;
        if (guestDir is not null || !options.Agents.ContainsKey(id))
        {
            options.Agents[id] = Directory(guestDir ?? throw new UsageException("hypervisor needs --guest-dir (this agent's guest directory), or SafeHaven:Hypervisor:Agents:<id>"), "--guest-dir");
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
            options.Agents[agent] = Directory(entry[(eq + 1)..], "--agent " + agent);
        }
        return options;
    }

    /// <summary>Sets the backend and, for libvirt, each agent's daemon URI given as ID=URI; then validates the whole.</summary>
    public static void Libvirt(VmActuatorOptions options, string backend, IEnumerable<string> daemons, SafeHavenConfig? config = null)
    {
        options.Backend = backend;
        var given = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in daemons)
        {
            var eq = entry.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new UsageException($"--libvirt '{entry}' is not ID=URI");
            }
            if (!given.Add(Token(entry[..eq], "--libvirt")))
            {
                throw new UsageException($"--libvirt '{entry[..eq]}' is given twice");
            }
            options.Libvirt[entry[..eq]] = entry[(eq + 1)..];
        }
        if (backend != VmBackends.Libvirt && given.Count > 0)
        {
            throw new UsageException("--libvirt needs --backend libvirt");
        }
        try
        {
            options.Validate();
        }
        catch (ArgumentException e) when (config is not null && (given.Count == 0 || !e.Message.Contains(":Libvirt", StringComparison.Ordinal)))
        {
            // A configured value at fault: name the key and where it came from.
            throw config.Explain(e, VmActuatorOptions.SectionName);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message.Replace(VmActuatorOptions.SectionName + ":Libvirt", "--libvirt", StringComparison.Ordinal), e);
        }
    }

    /// <summary>The journal of executed commands under <paramref name="stateDir"/>, or null when it is empty (memory only).</summary>
    public static string? JournalPath(string stateDir, string id)
    {
        if (stateDir.Length == 0)
        {
            return null;
        }
        if (!Path.IsPathRooted(stateDir) || stateDir.Any(char.IsControl))
        {
            throw new UsageException($"--state-dir '{stateDir}' must be an absolute path");
        }
        return Path.Combine(stateDir, "hypervisor-" + id, "executed-commands");
    }

    private static string Directory(string dir, string flag)
    {
        try
        {
            QemuPaths.RequireOptionSafePath(dir, flag);
            // The longest socket name a guest gets must still fit a unix socket address.
            _ = QemuPaths.In(dir, new string('x', 32), ".serial");
            return dir;
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"{flag}: {e.Message}", e);
        }
    }
}
