using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Actuators.Host;
using SafeHaven.Cli.Configuration;
using SafeHaven.Cli.Runtime;
using SafeHaven.Kafka.Topics;
using SafeHaven.Probes;
using SafeHaven.StreamProcessors.Detection;
using SafeHaven.StreamProcessors.Planning;

namespace SafeHaven.Cli.Commands;

/// <summary><c>safehaven up</c>: every role on this host in one process.</summary>
internal static class UpCommand
{
    public static Command Create()
    {
        var flags = new RoleFlags();
        var siem = new SiemFlags();
        var pids = new Option<int[]>("--pid") { Description = "Watch only these pids (repeatable); default: every user process", AllowMultipleArgumentsPerToken = true };
        var period = new Option<string>("--period") { Description = "Sampling period", DefaultValueFactory = _ => "1s" };
        var mtd = new MtdFlags();
        var command = new Command("up", "Run the whole pipeline on this host: broker (embedded unless --bootstrap), probe, stream processors and host actuator")
        {
            pids, period,
        };
        flags.AddTo(command, rules: true, actuator: true);
        siem.AddTo(command);
        mtd.AddTo(command);
        // Other datacenters (docs/SCALING.md §4): with --signing-key, the key their trust stores hold.
        var peers = new PeerFlags();
        peers.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var rules = flags.LoadRules(parse);
            var (actuator, identity) = flags.Actuator(parse);
            var config = SafeHavenConfig.Of(parse);
            var movingTarget = mtd.Options(parse, identity.Datacenter, identity.Host);
            var (detector, planner) = flags.Processors(parse, rules.Source);
            config.Validate(DetectorOptions.SectionName, detector.Validate);
            var peered = peers.Given(parse) || planner.Peers.Count > 0;
            if (peered && parse.GetValue(flags.SigningKey) is null)
            {
                // Without it up's planner seals with a key of this process's own (or its state directory's): no peer could trust it.
                var where = peers.Given(parse) ? "--peer" : $"{PlannerOptions.SectionName}:Peers ({config.SourceOf($"{PlannerOptions.SectionName}:Peers")})";
                throw new UsageException($"{where}: up's planner needs a stable key its peers trust to move entities across datacenters: pass --signing-key " +
                    "(the planner key whose .pub is in each peer's --peer-keys directory; docs/SCALING.md §4)");
            }
            if (peered)
            {
                // The planner's datacenter is this host's unless configured; --datacenter names both.
                if (config.SourceOf($"{PlannerOptions.SectionName}:Datacenter").StartsWith("the default", StringComparison.Ordinal))
                {
                    planner.Datacenter = identity.Datacenter;
                }
                peers.Apply(parse, config, planner, flags.Datacenter);
            }
            config.Validate(PlannerOptions.SectionName, planner.Validate);
            var probe = config.Bind<ProbeOptions>(ProbeOptions.SectionName);
            probe.Datacenter = identity.Datacenter;
            probe.HostId = identity.Host;
            config.Flag(parse, period, "SafeHaven:Probe:Period", v => probe.Period = CommonOptions.ParseDuration(v, "--period")!.Value);
            if (probe.Counters.Count == 0)
            {
                probe.Counters = [.. rules.Counters];
            }
            config.Flag(parse, pids, "SafeHaven:Probe:Pids", v => probe.Pids = [.. v ?? []]);
            // Early publication follows the same file the detector reloads.
            probe.RulesFile = rules.Source;
            config.Validate(ProbeOptions.SectionName, probe.Validate);
            var stopAfter = CommonOptions.ParseDuration(parse.GetValue(flags.Duration), "--duration");
            var (signer, verifier) = flags.KeysForAllInOne(parse);
            var names = new TopicNames(flags.TopicPrefix(parse));
            using var broker = await flags.OpenBrokerAsync(parse,
                BrokerSession.AllTopics(names, flags.TopicPartitions(parse), detector.ApplicationId), ct).ConfigureAwait(false);
            if (broker.Embedded)
            {
                Console.Out.WriteLine($"bootstrap: {broker.Bootstrap}");
                Console.Error.WriteLine("embedded broker: in memory only; each partition keeps at most 5 MiB or 100,000 batches and silently drops older data.");
            }
            var spec = new PipelineSpec(flags.Kafka(parse, broker.Bootstrap))
            {
                Probe = probe, Detector = detector, Planner = planner, Rules = rules, Actuator = actuator, Identity = identity,
                Signer = signer, Verifier = verifier, MovingTarget = movingTarget, Siem = siem.Options(parse, SafeHavenConfig.Of(parse), flags.Cluster),
                // Every role runs here: each seals what it writes and the planner checks it (docs/SECURITY.md).
                Seals = PipelineSpec.AllInOne(identity, actuator.Id, actuator.StateDirectory,
                    peered ? KeyFiles.RecordSigner(parse.GetValue(flags.SigningKey)!, SafeHaven.Security.KeyRoles.Planner, SafeHaven.Security.KeyRoles.Planner) : null),
                Telemetry = flags.Telemetry.Read(parse, "up"),
            };
            using var app = Pipeline.Build(spec, LogLevel.Information);
            // Listed workloads get their own cpuset on the shared CPUs now, so they stay off the
            // isolation pool and a later isolation is a cheap cpuset.cpus rewrite.
            var hostActuator = app.Services.GetRequiredService<HostActuator>();
            foreach (var pid in probe.Pids)
            {
                var enrolled = hostActuator.Enrol(pid);
                Console.Error.WriteLine(!enrolled.Succeeded
                    ? $"up: pid {pid} not enrolled: {enrolled.Error}"
                    : enrolled.AlreadyIsolated
                        ? $"up: pid {pid} left where it is: {enrolled.Summary}"
                        : $"up: pid {pid} enrolled on shared CPUs {hostActuator.SharedCpus}");
            }
            return await RoleHost.RunAsync(app, stopAfter, ct).ConfigureAwait(false);
        });
        return command;
    }
}
