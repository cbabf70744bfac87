namespace SafeHaven.StreamProcessors.Planning;

/// <summary>Planner settings (config section <c>SafeHaven:Planner</c>).</summary>
public sealed class PlannerOptions
{
    /// <summary>Config section name.</summary>
    public const string SectionName = "SafeHaven:Planner";

    /// <summary>Consumer group of the planner. Defaults to <c>safehaven-planner</c>.</summary>
    public string GroupId { get; set; } = "safehaven-planner";

    /// <summary>How long an actuator may still start a command. Defaults to 10 s.</summary>
    public TimeSpan CommandTtl { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Mark every command as a dry run. Defaults to false.</summary>
    public bool DryRun { get; set; }

    /// <summary>
    /// After a command's deadline, how long its result may still take before the planner sends it again to
    /// reconcile. Defaults to 5 s.
    /// </summary>
    public TimeSpan ExpiryGrace { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Session timeout of the ledger lease: how long a planner that stopped answering keeps the lease. A standby takes
    /// over after about 2.5 times this on the embedded broker (measured: 3 s gives 7–8 s, 6 s gives 16 s). Apache Kafka
    /// refuses values below its <c>group.min.session.timeout.ms</c> (6 s by default; docker-compose.yml lowers it to 3 s).
    /// Defaults to 3 s.
    /// </summary>
    public TimeSpan LeaseTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>This instance's name in logs and in the ledger records it writes. Defaults to the host name and process id.</summary>
    public string InstanceId { get; set; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    /// <summary>A detection dated further than this from now (either way) is dead-lettered, never planned. Defaults to 5 min.</summary>
    public TimeSpan DetectionTtl { get; set; } = SafeHaven.Core.Placement.PlannerPolicy.Default.DetectionTtl;

    /// <summary>After a move of an entity, a new detection of it gets a skipped result for this long (wall clock). Defaults to 10 s.</summary>
    public TimeSpan Cooldown { get; set; } = SafeHaven.Core.Placement.PlannerPolicy.Default.Cooldown;

    /// <summary>Isolation moves per host per minute; more get a skipped result. 0 = no limit. Defaults to 30.</summary>
    public int MovesPerHostPerMinute { get; set; } = 30;

    /// <summary>Isolation moves per entity per hour. 0 = no limit. Defaults to 6.</summary>
    public int MovesPerEntityPerHour { get; set; } = 6;

    /// <summary>Isolation moves per datacenter per minute. 0 = no limit. Defaults to 300.</summary>
    public int MovesPerDatacenterPerMinute { get; set; } = 300;

    /// <summary>
    /// This planner's datacenter: the entities it may move out to a peer, and the datacenter it answers reservations
    /// for. Used only with <see cref="Peers"/>. Defaults to <c>local</c>, the probes' default.
    /// </summary>
    public string Datacenter { get; set; } = "local";

    /// <summary>
    /// Other datacenters' clusters (docs/SCALING.md §4): a detection no level of this datacenter can place moves to the
    /// first peer with room, under an action lease in that peer's cluster; and the peers' planners may book slots in
    /// this ledger. Empty (the default): this planner never leaves its datacenter and answers no reservation.
    /// </summary>
    public IList<PlannerPeer> Peers { get; } = [];

    /// <summary>
    /// How long the action lease of a move out of this datacenter lasts: the commands' deadlines fall inside it. At most
    /// 10 min (the readers' limit), and longer than <see cref="CommandTtl"/>. Defaults to 1 min.
    /// </summary>
    public TimeSpan CrossDcLease { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The policy these settings give the planner.</summary>
    public SafeHaven.Core.Placement.PlannerPolicy Policy() =>
        new(DetectionTtl, Cooldown, new SafeHaven.Core.Placement.MoveBudgets(MovesPerHostPerMinute, MovesPerEntityPerHour, MovesPerDatacenterPerMinute));

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(GroupId))
        {
            throw new ArgumentException($"{SectionName}:{nameof(GroupId)}: planner group id is empty");
        }
        if (CommandTtl <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{SectionName}:{nameof(CommandTtl)}: command TTL must be positive, got {CommandTtl}");
        }
        if (LeaseTimeout < TimeSpan.FromSeconds(1) || LeaseTimeout > TimeSpan.FromMinutes(5))
        {
            throw new ArgumentException($"{SectionName}:{nameof(LeaseTimeout)}: lease timeout must be between 1 s and 5 min, got {LeaseTimeout}");
        }
        if (ExpiryGrace < TimeSpan.Zero)
        {
            throw new ArgumentException($"{SectionName}:{nameof(ExpiryGrace)}: expiry grace must not be negative, got {ExpiryGrace}");
        }
        Policy().Validate();
        ValidatePeers();
        if (!SafeHaven.Core.Identifiers.IsId(InstanceId))
        {
            throw new ArgumentException($"{SectionName}:{nameof(InstanceId)}: planner instance id '{InstanceId}' must be letters, digits, '.', '_', ':' or '-'");
        }
    }

    private void ValidatePeers()
    {
        if (!SafeHaven.Core.Identifiers.IsToken(Datacenter))
        {
            throw new ArgumentException($"{SectionName}:{nameof(Datacenter)}: datacenter '{SafeHaven.Core.Identifiers.Printable(Datacenter)}' is not a valid id");
        }
        if (CrossDcLease <= TimeSpan.Zero || CrossDcLease > TimeSpan.FromMinutes(10) || (Peers.Count > 0 && CrossDcLease <= CommandTtl))
        {
            throw new ArgumentException($"{SectionName}:{nameof(CrossDcLease)}: the cross-datacenter lease must be longer than CommandTtl ({CommandTtl}) and at most 10 min, got {CrossDcLease}");
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Peers.Count; i++)
        {
            var key = $"{SectionName}:{nameof(Peers)}:{i}";
            Peers[i].Validate(key, Datacenter);
            if (!seen.Add(Peers[i].Datacenter))
            {
                throw new ArgumentException($"{key}:{nameof(PlannerPeer.Datacenter)}: peer datacenter '{Peers[i].Datacenter}' is listed twice");
            }
        }
        // The reservation protocol names the planner instance as a token (no ':').
        if (Peers.Count > 0 && !SafeHaven.Core.Identifiers.IsToken(InstanceId))
        {
            throw new ArgumentException($"{SectionName}:{nameof(InstanceId)}: with peers, the planner instance id '{InstanceId}' must be letters, digits, '.', '_' or '-'");
        }
    }
}
