using System.CommandLine;
using Microsoft.Extensions.Logging;
using SafeHaven.Cli.Configuration;
using SafeHaven.Cli.Runtime;
using SafeHaven.StreamProcessors.Planning;

namespace SafeHaven.Cli.Commands;

/// <summary>
/// <c>safehaven plan</c>: the planner alone against a cluster. Several may run: one holds the ledger lease and
/// acts, the others stand by and take over from the ledger when it dies.
/// </summary>
internal static class PlanCommand
{
    public static Command Create()
    {
        var flags = new RoleFlags();
        var instance = new Option<string?>("--instance") { Description = "This planner's name in logs and ledger records (default: host name and pid)" };
        var command = new Command("plan", "Run the planner (isolation ledger, targets, escalation, release) against --bootstrap; run two for a standby");
        foreach (var o in new Option[] { flags.Bootstrap, flags.Registry, flags.Duration, flags.Prefix, flags.Partitions, flags.Cluster, flags.DryRun, flags.SigningKey, flags.TrustedKeys, flags.AllowUnsealed, instance })
        {
            command.Options.Add(o);
        }
        // Other datacenters (docs/SCALING.md §4): --datacenter names this planner's, --peer the others'.
        var peers = new PeerFlags();
        command.Options.Add(flags.Datacenter);
        peers.AddTo(command);
        flags.Security.AddTo(command);
        var mtd = new MtdFlags();
        mtd.AddTo(command);
        flags.Telemetry.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var server = flags.Server(parse) ?? throw new UsageException("plan needs --bootstrap");
            var stopAfter = CommonOptions.ParseDuration(parse.GetValue(flags.Duration), "--duration");
            var signer = flags.Signer(parse) ?? throw new UsageException("plan needs --signing-key (safehaven keys generate --dir DIR)");
            var config = SafeHavenConfig.Of(parse);
            var planner = config.Bind<PlannerOptions>(PlannerOptions.SectionName);
            config.Flag(parse, flags.DryRun, "SafeHaven:Planner:DryRun", v => planner.DryRun = v);
            config.Flag(parse, instance, "SafeHaven:Planner:InstanceId", v => planner.InstanceId = v!);
            peers.Apply(parse, config, planner, flags.Datacenter);
            config.Validate(PlannerOptions.SectionName, planner.Validate);
            // Entities without @HOST are on this machine (the agents' default id is the host name).
            var movingTarget = mtd.Options(parse, "dc1", Environment.MachineName);
            using var app = Pipeline.Build(new PipelineSpec(flags.Kafka(parse, server))
            {
                Planner = planner, Signer = signer, Seals = flags.PlannerSeals(parse), MovingTarget = movingTarget,
                Telemetry = flags.Telemetry.Read(parse, "plan"),
            }, LogLevel.Information);
            return await RoleHost.RunAsync(app, stopAfter, ct).ConfigureAwait(false);
        });
        return command;
    }
}
