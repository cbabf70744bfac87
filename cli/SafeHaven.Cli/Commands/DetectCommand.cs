using System.CommandLine;
using Microsoft.Extensions.Logging;
using SafeHaven.Cli.Configuration;
using SafeHaven.Cli.Runtime;
using SafeHaven.StreamProcessors.Detection;
using SafeHaven.StreamProcessors.Planning;

namespace SafeHaven.Cli.Commands;

/// <summary>
/// <c>safehaven detect</c>: the detector alone against a cluster (samples in, detections out). Any number may run:
/// instances with one <c>--application-id</c> share the samples topic's partitions, and the others take over a dead
/// one's partitions with its rule state (docs/SCALING.md). <c>--with-planner</c> runs a planner in the same process.
/// </summary>
internal static class DetectCommand
{
    public static Command Create()
    {
        var flags = new RoleFlags();
        var siem = new SiemFlags();
        var withPlanner = new Option<bool>("--with-planner")
        {
            Description = "Also run the planner (and the SIEM projector) in this process, as detect did before roles were split: --signing-key then needs a planner key too",
        };
        var applicationId = new Option<string>("--application-id")
        {
            Description = "Streamiz application id: the consumer group the instances share and the prefix of the rule state's changelog topic",
            DefaultValueFactory = _ => new DetectorOptions().ApplicationId,
        };
        var threads = new Option<int>("--threads") { Description = "Stream threads of this instance (1..64)", DefaultValueFactory = _ => 1 };
        var command = new Command("detect",
            "Run the detector (rates, rules; samples in, detections out) against --bootstrap; run several to share the samples partitions")
        {
            withPlanner, applicationId, threads,
        };
        flags.AddTo(command, rules: true, actuator: false);
        siem.AddTo(command);
        var peers = new PeerFlags();
        peers.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var server = flags.Server(parse) ?? throw new UsageException("detect needs --bootstrap");
            var rules = flags.LoadRules(parse);
            var (detector, planner) = flags.Processors(parse, rules.Source);
            var config = SafeHavenConfig.Of(parse);
            config.Flag(parse, applicationId, "SafeHaven:Detector:ApplicationId", v => detector.ApplicationId = v);
            config.Flag(parse, threads, "SafeHaven:Detector:Threads", v => detector.Threads = v);
            config.Validate(DetectorOptions.SectionName, detector.Validate);
            var stopAfter = CommonOptions.ParseDuration(parse.GetValue(flags.Duration), "--duration");
            PipelineSpec spec;
            if (parse.GetValue(withPlanner))
            {
                var signer = flags.Signer(parse) ?? throw new UsageException("detect --with-planner needs --signing-key (safehaven keys generate --dir DIR)");
                // The planner's datacenter and peers: --datacenter names this datacenter, --peer the others (docs/SCALING.md §4).
                peers.Apply(parse, config, planner, flags.Datacenter);
                config.Validate(PlannerOptions.SectionName, planner.Validate);
                spec = new PipelineSpec(flags.Kafka(parse, server))
                {
                    Detector = detector, Planner = planner, Rules = rules, Signer = signer, Seals = flags.DetectSeals(parse), Siem = siem.Options(parse, SafeHavenConfig.Of(parse), flags.Cluster),
                    Telemetry = flags.Telemetry.Read(parse, "detect"),
                };
            }
            else
            {
                if (peers.Given(parse))
                {
                    throw new UsageException("--peer, --peer-keys, --peer-cluster and --peer-prefix are the planner's: use them with plan, up or detect --with-planner");
                }
                spec = new PipelineSpec(flags.Kafka(parse, server)) { Detector = detector, Rules = rules, Seals = flags.DetectorSeals(parse), Telemetry = flags.Telemetry.Read(parse, "detect") };
            }
            using var app = Pipeline.Build(spec, LogLevel.Information);
            return await RoleHost.RunAsync(app, stopAfter, ct).ConfigureAwait(false);
        });
        return command;
    }
}
