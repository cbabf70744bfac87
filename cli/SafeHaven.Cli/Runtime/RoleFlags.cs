using System.CommandLine;
using SafeHaven.Actuators;
using SafeHaven.Actuators.Cpu;
using SafeHaven.Actuators.Hosting;
using SafeHaven.Cli.Commands;
using SafeHaven.Core;
using SafeHaven.Core.Rules;
using SafeHaven.Kafka.Clients;
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
    public Option<string> Cgroup { get; } = new("--cgroup") { Description = "Name of SafeHaven's parent cpuset, under which each monitored workload gets its own", DefaultValueFactory = _ => "safehaven" };

    public void AddTo(Command command, bool rules, bool actuator)
    {
        foreach (var o in new Option[] { Bootstrap, Registry, Duration, Host, Datacenter, Cluster, Prefix, Partitions })
        {
            command.Options.Add(o);
        }
        Security.AddTo(command);
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

    public KafkaOptions Kafka(ParseResult parse, string bootstrap) => new()
    {
        BootstrapServers = bootstrap,
        SchemaRegistryUrl = parse.GetValue(Registry) ?? "",
        TopicPrefix = parse.GetValue(Prefix)!,
        Partitions = parse.GetValue(Partitions),
        Security = Security.Read(parse),
        // Verbs that write none of the records carrying it (replay, top) do not list --cluster.
        Cluster = parse.GetResult(Cluster) is null ? "local" : CommonOptions.ClusterId(parse.GetValue(Cluster)),
    };

    /// <summary>
    /// The cluster: the embedded broker when --bootstrap is absent (plaintext only, so security settings are refused
    /// there), otherwise the given one with its topics checked through a secured admin client.
    /// </summary>
    public Task<BrokerSession> OpenBrokerAsync(ParseResult parse, IReadOnlyList<Kafka.Topics.TopicSpec> topics, CancellationToken ct) =>
        BrokerSession.OpenAsync(parse.GetValue(Bootstrap), Security.Read(parse), topics, ct);

    public string HostId(ParseResult parse) => parse.GetValue(Host) ?? Environment.MachineName;

    public RuleSet LoadRules(ParseResult parse, FileInfo? fallback = null) =>
        CommonOptions.LoadRules(parse.GetValue(Rules) ?? fallback ?? throw new UsageException("--rules FILE is required"));

    public (DetectorOptions, PlannerOptions) Processors(ParseResult parse, string rulesFile, string applicationId) =>
        (new DetectorOptions { RulesFile = rulesFile, ApplicationId = applicationId },
         new PlannerOptions { DryRun = parse.GetValue(DryRun) });

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

    /// <summary>Moving-target settings from --mtd-pid/--mtd-period; null (off) when no pid is given.</summary>
    public static MovingTargetOptions? MovingTarget(int[]? pids, string? period, ActuatorIdentity identity)
    {
        if (pids is not { Length: > 0 })
        {
            return period is null ? null : throw new UsageException("--mtd-period needs at least one --mtd-pid");
        }
        var options = new MovingTargetOptions();
        if (CommonOptions.ParseDuration(period, "--mtd-period") is { } p)
        {
            options.Period = p;
        }
        foreach (var pid in pids)
        {
            options.Entities.Add(new MovingTargetEntity { Datacenter = identity.Datacenter, Host = identity.Host, Pid = pid });
        }
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        return options;
    }

    public (HostActuatorOptions, ActuatorIdentity) Actuator(ParseResult parse, string? cgroupName = null)
    {
        cgroupName ??= parse.GetValue(Cgroup)!;
        var online = OnlineCpus.Read();
        var options = new HostActuatorOptions
        {
            Id = parse.GetValue(Id) ?? HostId(parse),
            IsolationCpus = CommonOptions.ParsePool(parse.GetValue(IsolationCpus), online),
            CgroupName = cgroupName,
            StateDirectory = parse.GetValue(StateDir)!,
        };
        options.Validate(online);
        return (options, new ActuatorIdentity(parse.GetValue(Datacenter)!, HostId(parse), SegmentOf(parse)));
    }

    /// <summary>--network-segment, validated: it reaches the inventory and the planner's reasons.</summary>
    public string? SegmentOf(ParseResult parse) => parse.GetValue(Segment) is { } s
        ? Identifiers.IsToken(s) ? s : throw new UsageException($"--network-segment must be a token of letters, digits, '.', '_' or '-', got '{Identifiers.Printable(s)}'")
        : null;
}
