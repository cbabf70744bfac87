using System.CommandLine;
using SafeHaven.Actuators;
using SafeHaven.Actuators.Cpu;
using SafeHaven.Actuators.Hosting;
using SafeHaven.Cli.Commands;
using SafeHaven.Core.Rules;
using SafeHaven.Kafka.Clients;
using SafeHaven.StreamProcessors.Detection;
using SafeHaven.StreamProcessors.Planning;

namespace SafeHaven.Cli.Runtime;

/// <summary>The flags of the role verbs (detect, actuate, up, demo) and how they become role settings.</summary>
internal sealed class RoleFlags
{
    public Option<string?> Bootstrap { get; } = CommonOptions.Bootstrap();
    public Option<string?> Registry { get; } = CommonOptions.SchemaRegistry();
    public Option<FileInfo?> Rules { get; } = CommonOptions.Rules();
    public Option<bool> DryRun { get; } = CommonOptions.DryRun();
    public Option<string?> IsolationCpus { get; } = CommonOptions.IsolationCpus();
    public Option<string?> Duration { get; } = CommonOptions.Duration();
    public Option<string?> Id { get; } = CommonOptions.Id();
    public Option<string?> Host { get; } = CommonOptions.HostId();
    public Option<string> Datacenter { get; } = CommonOptions.Datacenter();
    public Option<string> Prefix { get; } = CommonOptions.Prefix();
    public Option<int> Partitions { get; } = CommonOptions.Partitions();
    public Option<string> Cgroup { get; } = new("--cgroup") { Description = "Name of SafeHaven's parent cpuset, under which each monitored workload gets its own", DefaultValueFactory = _ => "safehaven" };

    public void AddTo(Command command, bool rules, bool actuator)
    {
        foreach (var o in new Option[] { Bootstrap, Registry, Duration, Host, Datacenter, Prefix, Partitions })
        {
            command.Options.Add(o);
        }
        if (rules)
        {
            command.Options.Add(Rules);
            command.Options.Add(DryRun);
        }
        if (actuator)
        {
            command.Options.Add(IsolationCpus);
            command.Options.Add(Id);
            command.Options.Add(Cgroup);
        }
    }

    public KafkaOptions Kafka(ParseResult parse, string bootstrap) => new()
    {
        BootstrapServers = bootstrap,
        SchemaRegistryUrl = parse.GetValue(Registry) ?? "",
        TopicPrefix = parse.GetValue(Prefix)!,
        Partitions = parse.GetValue(Partitions),
    };

    public string HostId(ParseResult parse) => parse.GetValue(Host) ?? Environment.MachineName;

    public RuleSet LoadRules(ParseResult parse, FileInfo? fallback = null) =>
        CommonOptions.LoadRules(parse.GetValue(Rules) ?? fallback ?? throw new UsageException("--rules FILE is required"));

    public (DetectorOptions, PlannerOptions) Processors(ParseResult parse, string rulesFile, string applicationId) =>
        (new DetectorOptions { RulesFile = rulesFile, ApplicationId = applicationId },
         new PlannerOptions { DryRun = parse.GetValue(DryRun) });

    public (HostActuatorOptions, ActuatorIdentity) Actuator(ParseResult parse, string? cgroupName = null)
    {
        cgroupName ??= parse.GetValue(Cgroup)!;
        var online = OnlineCpus.Read();
        var options = new HostActuatorOptions
        {
            Id = parse.GetValue(Id) ?? HostId(parse),
            IsolationCpus = CommonOptions.ParsePool(parse.GetValue(IsolationCpus), online),
            CgroupName = cgroupName,
        };
        options.Validate(online);
        return (options, new ActuatorIdentity(parse.GetValue(Datacenter)!, HostId(parse)));
    }
}
