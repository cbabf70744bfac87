using System.CommandLine;
using Microsoft.Extensions.Logging;
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
        flags.Security.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var server = parse.GetValue(flags.Bootstrap) ?? throw new UsageException("plan needs --bootstrap");
            var stopAfter = CommonOptions.ParseDuration(parse.GetValue(flags.Duration), "--duration");
            var signer = flags.Signer(parse) ?? throw new UsageException("plan needs --signing-key (safehaven keys generate --dir DIR)");
            var planner = new PlannerOptions { DryRun = parse.GetValue(flags.DryRun) };
            if (parse.GetValue(instance) is { } id)
            {
                planner.InstanceId = id;
            }
            try
            {
                planner.Validate();
            }
            catch (ArgumentException e)
            {
                throw new UsageException("--instance: " + e.Message);
            }
            using var app = Pipeline.Build(new PipelineSpec(flags.Kafka(parse, server)) { Planner = planner, Signer = signer, Seals = flags.PlannerSeals(parse) }, LogLevel.Information);
            return await RoleHost.RunAsync(app, stopAfter, ct).ConfigureAwait(false);
        });
        return command;
    }
}
