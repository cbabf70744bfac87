using System.CommandLine;
using Microsoft.Extensions.Logging;
using SafeHaven.Cli.Configuration;
using SafeHaven.Cli.Runtime;
using SafeHaven.Kafka.Clients;
using SafeHaven.Security;

namespace SafeHaven.Cli.Commands;

/// <summary>
/// <c>safehaven siem</c>: the SIEM projector alone against a cluster: detections and results become OCSF (or ECS) JSON
/// events on the siem topic (docs/SIEM.md).
/// </summary>
internal static class SiemCommand
{
    public static Command Create()
    {
        var flags = new RoleFlags();
        var siem = new SiemFlags();
        var trusted = new Option<string?>("--trusted-keys")
        {
            Description = "Trusted public keys (.pub file or directory): detections and results are projected only if sealed by a trusted detector or actuator key; without it nothing is checked",
        };
        var command = new Command("siem", "Project detections and results into OCSF (or ECS) JSON events on the siem topic, against --bootstrap");
        foreach (var o in new Option[] { flags.Bootstrap, flags.Registry, flags.Duration, flags.Prefix, flags.Partitions, flags.Cluster, trusted })
        {
            command.Options.Add(o);
        }
        siem.AddTo(command);
        flags.Security.AddTo(command);
        flags.Telemetry.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var server = flags.Server(parse) ?? throw new UsageException("siem needs --bootstrap");
            var stopAfter = CommonOptions.ParseDuration(parse.GetValue(flags.Duration), "--duration");
            var options = siem.Options(parse, SafeHavenConfig.Of(parse), flags.Cluster);
            var seals = RoleSeals.None;
            if (parse.GetValue(trusted) is { } path)
            {
                seals = RoleSeals.From(KeyFiles.RecordVerifier(path));
                foreach (var kind in new[] { Seals.Kinds.Detections, Seals.Kinds.Results }.Where(k => !seals.Checks(k)))
                {
                    Console.Error.WriteLine($"warning: --trusted-keys {path} holds no {string.Join(" or ", RoleSeals.ProducersOf(kind))} key: {kind} are projected unchecked");
                }
            }
            else
            {
                Console.Error.WriteLine("warning: no --trusted-keys: detections and results are projected without checking their seals");
            }
            using var app = Pipeline.Build(new PipelineSpec(flags.Kafka(parse, server)) { Siem = options, Seals = seals, Telemetry = flags.Telemetry.Read(parse, "siem") }, LogLevel.Information);
            return await RoleHost.RunAsync(app, stopAfter, ct).ConfigureAwait(false);
        });
        return command;
    }
}
