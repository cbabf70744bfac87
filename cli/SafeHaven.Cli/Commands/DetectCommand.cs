using System.CommandLine;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Cli.Runtime;
using SafeHaven.StreamProcessors.Detection;

namespace SafeHaven.Cli.Commands;

/// <summary><c>safehaven detect</c>: the stream processors (detector and planner) against a cluster.</summary>
internal static class DetectCommand
{
    public static Command Create()
    {
        var flags = new RoleFlags();
        var siem = new SiemFlags();
        var command = new Command("detect", "Run the detector (rates, rules) and the planner (targets, escalation) against --bootstrap");
        flags.AddTo(command, rules: true, actuator: false);
        siem.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var server = parse.GetValue(flags.Bootstrap) ?? throw new UsageException("detect needs --bootstrap");
            var rules = flags.LoadRules(parse);
            var (detector, planner) = flags.Processors(parse, rules.Source, new DetectorOptions().ApplicationId);
            var stopAfter = CommonOptions.ParseDuration(parse.GetValue(flags.Duration), "--duration");
            var signer = flags.Signer(parse) ?? throw new UsageException("detect needs --signing-key (safehaven keys generate --dir DIR)");
            using var app = Pipeline.Build(new PipelineSpec(flags.Kafka(parse, server)) { Detector = detector, Planner = planner, Rules = rules, Signer = signer, Seals = flags.DetectSeals(parse), Siem = siem.Options(parse) }, LogLevel.Information);
            return await RoleHost.RunAsync(app, stopAfter, ct).ConfigureAwait(false);
        });
        return command;
    }
}
