using System.CommandLine;
using SafeHaven.Actuators.Host;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Actuators.Hosting;
using SafeHaven.Cli.Commands;
using SafeHaven.Cli.Configuration;
using SafeHaven.Core;
using SafeHaven.Core.Rules;
using SafeHaven.Kafka.Clients;
using SafeHaven.Probes;
using SafeHaven.Security;
using SafeHaven.StreamProcessors.Detection;
using SafeHaven.StreamProcessors.MovingTarget;
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

    public Option<string?> Segment { get; } = new("--network-segment")
    {
        Description = "This host's network segment (a rack or subnet label), announced with the agent's levels: rules of scope 'network' move suspects to another segment",
    };
    public Option<string?> Host { get; } = CommonOptions.HostId();
    public Option<string> Datacenter { get; } = CommonOptions.Datacenter();
    public Option<string> Cluster { get; } = CommonOptions.Cluster();
    public Option<string> Prefix { get; } = CommonOptions.Prefix();
    public Option<int> Partitions { get; } = CommonOptions.Partitions();
    public Option<string?> SigningKey { get; } = new("--signing-key") { Description = "This role's Ed25519 private key file, or a directory whose newest key of the role signs (safehaven keys generate; docs/SECURITY.md)" };
    public Option<string?> TrustedKeys { get; } = new("--trusted-keys") { Description = "Trusted public keys (.pub file or directory): planner keys for agents; every role's keys for the planner (default: the --signing-key directory)" };
    public Option<string[]> AllowUnsealed { get; } = new("--allow-unsealed")
    {
        Description = "Record kinds (samples, inventory, detections, results) to accept unsealed when no key of the role that writes them is trusted; without it a planner or detector refuses to start (docs/SECURITY.md)",
        AllowMultipleArgumentsPerToken = true,
    };
    public Option<string> StateDir { get; } = new("--state-dir") { Description = "Actuator state directory (journal of executed commands); empty: memory only", DefaultValueFactory = _ => "/var/lib/safehaven" };
    public SecurityFlags Security { get; } = new();
    public TelemetryFlags Telemetry { get; } = new();
    public Option<string> Cgroup { get; } = new("--cgroup") { Description = "Name of SafeHaven's parent cpuset, under which each monitored workload gets its own", DefaultValueFactory = _ => "safehaven" };

    public void AddTo(Command command, bool rules, bool actuator)
    {
        foreach (var o in new Option[] { Bootstrap, Registry, Duration, Host, Datacenter, Cluster, Prefix, Partitions })
        {
            command.Options.Add(o);
        }
        Security.AddTo(command);
        Telemetry.AddTo(command);
        if (rules)
        {
            command.Options.Add(Rules);
            command.Options.Add(DryRun);
        }
        // Planners sign commands and ledger records; agents seal their results: both take this role's key.
        command.Options.Add(SigningKey);
        if (actuator || rules)
        {
            command.Options.Add(TrustedKeys);
        }
        if (rules)
        {
            command.Options.Add(AllowUnsealed);
        }
        if (actuator)
        {
            command.Options.Add(IsolationCpus);
            command.Options.Add(Id);
            command.Options.Add(Segment);
            command.Options.Add(Cgroup);
            command.Options.Add(StateDir);
        }
    }

    /// <summary>This run's settings: --config, the environment, and (applied by the callers) the flags given; loaded once.</summary>
    public static SafeHavenConfig Settings(ParseResult parse) => SafeHavenConfig.Of(parse);

    /// <summary>The bootstrap servers: --bootstrap, else SafeHaven:Kafka:BootstrapServers; null when neither is given.</summary>
    public string? Server(ParseResult parse) =>
        parse.GetValue(Bootstrap) ?? (Settings(parse).Bind<KafkaOptions>(KafkaOptions.SectionName).BootstrapServers is { Length: > 0 } s ? s : null);

    /// <summary>The Kafka settings: the SafeHaven:Kafka section, then the flags given; <paramref name="bootstrap"/> wins (the embedded broker's).</summary>
    public KafkaOptions Kafka(ParseResult parse, string bootstrap)
    {
        var config = Settings(parse);
        var kafka = config.Bind<KafkaOptions>(KafkaOptions.SectionName);
        kafka.BootstrapServers = bootstrap;
        config.Flag(parse, Registry, "SafeHaven:Kafka:SchemaRegistryUrl", v => kafka.SchemaRegistryUrl = v ?? "");
        config.Flag(parse, Prefix, "SafeHaven:Kafka:TopicPrefix", v => kafka.TopicPrefix = v);
        config.Flag(parse, Partitions, "SafeHaven:Kafka:Partitions", v => kafka.Partitions = v);
        // Verbs that write none of the records carrying it (replay, top) do not list --cluster.
        if (parse.GetResult(Cluster) is not null)
        {
            config.Flag(parse, Cluster, "SafeHaven:Kafka:Cluster", v => kafka.Cluster = CommonOptions.ClusterId(v));
        }
        kafka.Security = Security.Read(parse, kafka.Security, config);
        config.Validate(KafkaOptions.SectionName, kafka.Validate);
        return kafka;
    }

    /// <summary>The topic prefix: --topic-prefix if given, else SafeHaven:Kafka:TopicPrefix.</summary>
    public string TopicPrefix(ParseResult parse) => SafeHavenConfig.Passed(parse, Prefix)
        ? parse.GetValue(Prefix)!
        : Settings(parse).Bind<KafkaOptions>(KafkaOptions.SectionName).TopicPrefix;

    /// <summary>Partitions per topic: --partitions if given, else SafeHaven:Kafka:Partitions.</summary>
    public int TopicPartitions(ParseResult parse) => SafeHavenConfig.Passed(parse, Partitions)
        ? parse.GetValue(Partitions)
        : Settings(parse).Bind<KafkaOptions>(KafkaOptions.SectionName).Partitions;

    /// <summary>
    /// The cluster: the embedded broker when --bootstrap is absent (plaintext only, so security settings are refused
    /// there), otherwise the given one with its topics checked through a secured admin client.
    /// </summary>
    public Task<BrokerSession> OpenBrokerAsync(ParseResult parse, IReadOnlyList<Kafka.Topics.TopicSpec> topics, CancellationToken ct) =>
        BrokerSession.OpenAsync(Server(parse), Security.Read(parse, Settings(parse).Bind<KafkaOptions>(KafkaOptions.SectionName).Security, Settings(parse)), topics, ct);

    /// <summary>This host's id: --host, else SafeHaven:Probe:HostId (default: the host name).</summary>
    public string HostId(ParseResult parse) => parse.GetValue(Host) ?? Settings(parse).Bind<ProbeOptions>(ProbeOptions.SectionName).HostId;

    /// <summary>This host's datacenter: --datacenter if given, else SafeHaven:Probe:Datacenter.</summary>
    public string DatacenterId(ParseResult parse) => SafeHavenConfig.Passed(parse, Datacenter)
        ? parse.GetValue(Datacenter)!
        : Settings(parse).Bind<ProbeOptions>(ProbeOptions.SectionName).Datacenter;

    /// <summary>The rules: --rules, else SafeHaven:Detector:RulesFile, else <paramref name="fallback"/>.</summary>
    public RuleSet LoadRules(ParseResult parse, FileInfo? fallback = null)
    {
        var configured = Settings(parse).Bind<DetectorOptions>(DetectorOptions.SectionName).RulesFile;
        return CommonOptions.LoadRules(parse.GetValue(Rules) ?? (configured.Length > 0 ? new FileInfo(configured) : null) ?? fallback
            ?? throw new UsageException("--rules FILE (or SafeHaven:Detector:RulesFile) is required"));
    }

    /// <summary>Detector and planner settings: their sections, then the flags given (validated by the caller or the host).</summary>
    public (DetectorOptions, PlannerOptions) Processors(ParseResult parse, string rulesFile)
    {
        var config = Settings(parse);
        var detector = config.Bind<DetectorOptions>(DetectorOptions.SectionName);
        detector.RulesFile = rulesFile;
        var planner = config.Bind<PlannerOptions>(PlannerOptions.SectionName);
        config.Flag(parse, DryRun, "SafeHaven:Planner:DryRun", v => planner.DryRun = v);
        return (detector, planner);
    }

    /// <summary>The planner's signer from --signing-key; null when the flag is absent.</summary>
    public CommandSigner? Signer(ParseResult parse) => parse.GetValue(SigningKey) is { } path ? KeyFiles.Signer(path) : null;

    /// <summary>The actuator's trust store from --trusted-keys; null when the flag is absent.</summary>
    public CommandVerifier? Verifier(ParseResult parse) => parse.GetValue(TrustedKeys) is { } path ? KeyFiles.Verifier(path) : null;

    /// <summary>
    /// Keys for a process running planner and actuator together: the given ones, the public keys
    /// beside the signing key, or else a key pair that lives only in this process.
    /// </summary>
    public (CommandSigner, CommandVerifier) KeysForAllInOne(ParseResult parse)
    {
        var signer = Signer(parse);
        if (signer is null)
        {
            return (CommandSigner.Ephemeral(out var verifier), verifier);
        }
        var trusted = parse.GetValue(TrustedKeys) ?? KeyFiles.Directory(parse.GetValue(SigningKey)!);
        return (signer, KeyFiles.Verifier(trusted));
    }

    /// <summary>An agent's seal for its results from --signing-key (its actuator key, speaking for <paramref name="actuatorId"/>); none without the flag.</summary>
    public RoleSeals ActuatorSeals(ParseResult parse, string actuatorId) =>
        parse.GetValue(SigningKey) is { } path
            ? RoleSeals.From(null, KeyFiles.RecordSigner(path, KeyRoles.Actuator, actuatorId))
            : RoleSeals.None;

    /// <summary>
    /// A planner's keys: its --signing-key seals ledger records, and it checks every kind whose producing role has a key
    /// in --trusted-keys (default: the --signing-key directory).
    /// </summary>
    public RoleSeals PlannerSeals(ParseResult parse) =>
        RequireChecks(parse, PlannerSealsUnchecked(parse), Seals.Kinds.Detections, Seals.Kinds.Inventory, Seals.Kinds.Results);

    private RoleSeals PlannerSealsUnchecked(ParseResult parse)
    {
        var path = parse.GetValue(SigningKey) ?? throw new UsageException("the planner needs --signing-key");
        var trusted = parse.GetValue(TrustedKeys) ?? KeyFiles.Directory(path);
        return RoleSeals.From(KeyFiles.RecordVerifier(trusted), KeyFiles.RecordSigner(path, KeyRoles.Planner, KeyRoles.Planner));
    }

    /// <summary>
    /// Fail closed: a consuming role starts only if it checks the seal of every kind it consumes, or the operator
    /// named the kind in --allow-unsealed (logged at start by the role as unchecked).
    /// </summary>
    private RoleSeals RequireChecks(ParseResult parse, RoleSeals seals, params string[] consumed)
    {
        var known = new[] { Seals.Kinds.Samples, Seals.Kinds.Inventory, Seals.Kinds.Detections, Seals.Kinds.Results };
        var allowed = (parse.GetValue(AllowUnsealed) ?? []).SelectMany(a => a.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToHashSet(StringComparer.Ordinal);
        if (allowed.FirstOrDefault(a => !known.Contains(a)) is { } unknown)
        {
            throw new UsageException($"--allow-unsealed: unknown record kind '{SafeHaven.Core.Identifiers.Printable(unknown)}' (expected {string.Join(", ", known)})");
        }
        var missing = consumed.Where(k => !seals.Checks(k) && !allowed.Contains(k)).ToList();
        if (missing.Count > 0)
        {
            var trusted = parse.GetValue(TrustedKeys) ?? KeyFiles.Directory(parse.GetValue(SigningKey)!);
            throw new UsageException($"--trusted-keys {trusted}: no trusted key for " +
                string.Join("; ", missing.Select(k => $"{k} (written by {string.Join(" or ", RoleSeals.ProducersOf(k))})")) +
                $". Copy those roles' .pub files there (safehaven keys generate --role ROLE --subject ...), or accept them unsealed with --allow-unsealed {string.Join(',', missing)}");
        }
        foreach (var kind in consumed.Where(k => !seals.Checks(k)))
        {
            Console.Error.WriteLine($"warning: {kind} records are accepted unsealed (--allow-unsealed): anyone who can write that topic steers this role");
        }
        return seals;
    }

    /// <summary>
    /// <c>detect</c> runs detector and planner: the planner's keys as <see cref="PlannerSeals"/>, plus the newest
    /// detector key of the --signing-key directory, if it holds one, to seal detections.
    /// </summary>
    public RoleSeals DetectSeals(ParseResult parse)
    {
        var planner = PlannerSealsUnchecked(parse);
        var dir = KeyFiles.Directory(parse.GetValue(SigningKey)!);
        try
        {
            var hasDetectorKey = new DirectoryInfo(dir).GetFiles("*.key").Any(f => SigningKeys.RoleOf(f.FullName).Role == KeyRoles.Detector);
            var seals = hasDetectorKey
                ? RoleSeals.From(planner.Verifier, planner.Planner!, SigningKeys.LoadRecordSigner(dir, KeyRoles.Detector))
                : planner;
            return RequireChecks(parse, seals, Seals.Kinds.Samples, Seals.Kinds.Detections, Seals.Kinds.Inventory, Seals.Kinds.Results);
        }
        catch (KeyFileException e)
        {
            throw new UsageException(e.Message, e);
        }
    }

    /// <summary>
    /// A detector alone: the newest detector key of --signing-key (a file, or a directory) seals detections, and it
    /// checks samples once a probe key or sample MAC master is in --trusted-keys (default: the --signing-key directory).
    /// </summary>
    public RoleSeals DetectorSeals(ParseResult parse)
    {
        var path = parse.GetValue(SigningKey) ?? throw new UsageException("detect needs --signing-key: a detector key (safehaven keys generate --role detector --subject detector --dir DIR)");
        if (!File.Exists(path) && !System.IO.Directory.Exists(path))
        {
            throw new UsageException($"--signing-key {path}: no such file or directory");
        }
        var trusted = parse.GetValue(TrustedKeys) ?? KeyFiles.Directory(path);
        var seals = RequireChecks(parse, RoleSeals.From(KeyFiles.RecordVerifier(trusted)), Seals.Kinds.Samples);
        try
        {
            return RoleSeals.From(seals.Verifier, SigningKeys.LoadRecordSigner(path, KeyRoles.Detector));
        }
        catch (KeyFileException e)
        {
            throw new UsageException($"--signing-key {path}: no usable detector key ({e.Message}); safehaven keys generate --role detector --subject detector --dir DIR", e);
        }
    }

    public (HostActuatorOptions, ActuatorIdentity) Actuator(ParseResult parse, string? cgroupName = null)
    {
        var config = Settings(parse);
        var online = OnlineCpus.Read();
        var options = config.Bind<HostActuatorOptions>(HostActuatorOptions.SectionName);
        const string section = HostActuatorOptions.SectionName;
        if (config.SourceOf($"{section}:Id").StartsWith("the default", StringComparison.Ordinal))
        {
            options.Id = HostId(parse);
        }
        config.Flag(parse, Id, $"{section}:Id", v => options.Id = v!);
        if (options.IsolationCpus is null || SafeHavenConfig.Passed(parse, IsolationCpus))
        {
            options.IsolationCpus = CommonOptions.ParsePool(parse.GetValue(IsolationCpus), online);
        }
        config.Flag(parse, Cgroup, $"{section}:CgroupName", v => options.CgroupName = v);
        if (cgroupName is not null)
        {
            options.CgroupName = cgroupName;
        }
        config.Flag(parse, StateDir, $"{section}:StateDirectory", v => options.StateDirectory = v);
        config.Validate(section, () => options.Validate(online));
        return (options, new ActuatorIdentity(DatacenterId(parse), HostId(parse), SegmentOf(parse)));
    }

    /// <summary>--network-segment, validated: it reaches the inventory and the planner's reasons.</summary>
    public string? SegmentOf(ParseResult parse) => parse.GetValue(Segment) is { } s
        ? Identifiers.IsToken(s) ? s : throw new UsageException($"--network-segment must be a token of letters, digits, '.', '_' or '-', got '{Identifiers.Printable(s)}'")
        : null;
}
