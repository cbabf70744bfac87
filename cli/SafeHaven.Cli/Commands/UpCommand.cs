using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SafeHaven.Actuators;
using Microsoft.Extensions.Logging;
using SafeHaven.Cli.Runtime;
using SafeHaven.Kafka.Topics;
using SafeHaven.Probes;
using SafeHaven.StreamProcessors.Detection;

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
        var mtdPids = new Option<int[]>("--mtd-pid") { Description = "Moving-target defence: migrate this pid to the next CPU of the isolation pool every --mtd-period (repeatable); absent = off", AllowMultipleArgumentsPerToken = true };
        var mtdPeriod = new Option<string?>("--mtd-period") { Description = "Moving-target period (default 30s; the original measured ≈50 % throughput cost at 30s, ≈30 % at 60s)" };
        var command = new Command("up", "Run the whole pipeline on this host: broker (embedded unless --bootstrap), probe, stream processors and host actuator")
        {
            pids, period, mtdPids, mtdPeriod,
        };
        flags.AddTo(command, rules: true, actuator: true);
        siem.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var rules = flags.LoadRules(parse);
            var (actuator, identity) = flags.Actuator(parse);
            var movingTarget = RoleFlags.MovingTarget(parse.GetValue(mtdPids), parse.GetValue(mtdPeriod), identity);
            var (detector, planner) = flags.Processors(parse, rules.Source, new DetectorOptions().ApplicationId);
            var probe = new ProbeOptions
            {
                Datacenter = identity.Datacenter,
                HostId = identity.Host,
                Period = CommonOptions.ParseDuration(parse.GetValue(period), "--period")!.Value,
                Counters = [.. rules.Counters],
                Pids = [.. parse.GetValue(pids) ?? []],
                // Early publication follows the same file the detector reloads.
                RulesFile = rules.Source,
            };
            probe.Validate();
            var stopAfter = CommonOptions.ParseDuration(parse.GetValue(flags.Duration), "--duration");
            var (signer, verifier) = flags.KeysForAllInOne(parse);
            var names = new TopicNames(parse.GetValue(flags.Prefix)!);
            using var broker = await flags.OpenBrokerAsync(parse,
                BrokerSession.AllTopics(names, parse.GetValue(flags.Partitions), detector.ApplicationId), ct).ConfigureAwait(false);
            if (broker.Embedded)
            {
                Console.Out.WriteLine($"bootstrap: {broker.Bootstrap}");
                Console.Error.WriteLine("embedded broker: in memory only; each partition keeps at most 5 MiB or 100,000 batches and silently drops older data.");
            }
            var spec = new PipelineSpec(flags.Kafka(parse, broker.Bootstrap))
            {
                Probe = probe, Detector = detector, Planner = planner, Rules = rules, Actuator = actuator, Identity = identity,
                Signer = signer, Verifier = verifier, MovingTarget = movingTarget, Siem = siem.Options(parse, flags.Cluster),
                // Every role runs here: each seals what it writes and the planner checks it (docs/SECURITY.md).
                Seals = PipelineSpec.AllInOne(identity, actuator.Id, actuator.StateDirectory),
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
