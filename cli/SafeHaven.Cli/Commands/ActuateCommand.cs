using System.CommandLine;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Cli.Runtime;

namespace SafeHaven.Cli.Commands;

/// <summary><c>safehaven actuate</c>: the host actuator (core level) against a cluster.</summary>
internal static class ActuateCommand
{
    public static Command Create()
    {
        var flags = new RoleFlags();
        var command = new Command("actuate", "Run the host actuator: execute core-level isolation commands addressed to --id");
        flags.AddTo(command, rules: false, actuator: true);
        command.SetAction(async (parse, ct) =>
        {
            var server = flags.Server(parse) ?? throw new UsageException("actuate needs --bootstrap");
            var (actuator, identity) = flags.Actuator(parse);
            var stopAfter = CommonOptions.ParseDuration(parse.GetValue(flags.Duration), "--duration");
            var verifier = flags.Verifier(parse) ?? throw new UsageException("actuate needs --trusted-keys (the planner's .pub file or directory)");
            using var app = Pipeline.Build(new PipelineSpec(flags.Kafka(parse, server)) { Actuator = actuator, Identity = identity, Verifier = verifier, Seals = flags.ActuatorSeals(parse, actuator.Id), Telemetry = flags.Telemetry.Read(parse, "actuate") }, LogLevel.Information);
            return await RoleHost.RunAsync(app, stopAfter, ct).ConfigureAwait(false);
        });
        return command;
    }
}
