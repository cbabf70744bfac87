namespace SafeHaven.Kafka.Topics;

/// <summary>SafeHaven's topic names (docs/DESIGN.md §3) under a configurable prefix.</summary>
public sealed class TopicNames
{
    /// <summary>The prefix used when none is configured.</summary>
    public const string DefaultPrefix = "safehaven.";

    /// <summary>Creates the names under <paramref name="prefix"/>.</summary>
    /// <param name="prefix">Prefix of every name; empty or legal topic-name characters only.</param>
    /// <exception cref="ArgumentException">The prefix would make illegal topic names.</exception>
    public TopicNames(string prefix = DefaultPrefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        Prefix = prefix;
        Samples = prefix + "samples";
        Inventory = prefix + "inventory";
        Detections = prefix + "detections";
        Commands = prefix + "commands";
        Results = prefix + "results";
        Placements = prefix + "placements";
        Siem = prefix + "siem";
        Dlq = prefix + "dlq";
        ActionLeases = prefix + "action-leases";
        Reservations = prefix + "reservations";

        // Checking every full name covers both illegal characters and the length limit.
        foreach (var name in Names())
        {
            if (TopicNameRules.Problem(name) is { } problem)
            {
                throw new ArgumentException($"Invalid topic prefix '{prefix}': {problem}.", nameof(prefix));
            }
        }
    }

    /// <summary>The prefix of every name.</summary>
    public string Prefix { get; }

    /// <summary>Counter samples, keyed by host id.</summary>
    public string Samples { get; }

    /// <summary>Entity inventory, keyed by entity id; compacted.</summary>
    public string Inventory { get; }

    /// <summary>Detections, keyed by entity id.</summary>
    public string Detections { get; }

    /// <summary>Isolation commands, keyed by actuator id.</summary>
    public string Commands { get; }

    /// <summary>Isolation results, keyed by command id.</summary>
    public string Results { get; }

    /// <summary>The isolation ledger (one record per slot: its group, members and outstanding commands), keyed by slot id; compacted, one partition.</summary>
    public string Placements { get; }

    /// <summary>SIEM events, OCSF 1.x (or ECS) JSON, one per detection and result, keyed by entity id (docs/SIEM.md).</summary>
    public string Siem { get; }

    /// <summary>Dead letters, keyed by the original key.</summary>
    public string Dlq { get; }

    /// <summary>Action leases of cross-datacenter moves into this cluster, keyed by entity id; compacted, one partition (docs/SCALING.md §4).</summary>
    public string ActionLeases { get; }

    /// <summary>Cross-datacenter slot reservations (requests and the target planner's answers), keyed by entity id; one partition.</summary>
    public string Reservations { get; }

    /// <summary>
    /// <c>min.compaction.lag.ms</c> of the action-lease topic: a lease record must not be compacted away (by a later record
    /// of its entity, e.g. a losing competitor's) while it can still be in force, or a reader that starts later folds a
    /// log without the winner. A lease lasts at most <c>ActionLeaseBook.MaxLease</c> (10 min) and every other reader treats
    /// it as live for the clock skew (2 s) beyond; 15 min covers both with room for a writer's clock running behind.
    /// </summary>
    public static TimeSpan ActionLeaseCompactionLag { get; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// Every SafeHaven topic with <paramref name="partitions"/> partitions; inventory, placements and action leases are
    /// compacted (action leases with <see cref="ActionLeaseCompactionLag"/>), and the ledger has one partition: its
    /// partition 0 is the planner's lease (one active planner at a time).
    /// </summary>
    /// <param name="partitions">Partitions per topic, at least 1.</param>
    /// <returns>The specs in docs/DESIGN.md §3 order.</returns>
    public IReadOnlyList<TopicSpec> All(int partitions)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        return Names().Select(n => new TopicSpec(n, n == Placements || n == ActionLeases || n == Reservations ? 1 : partitions,
            Compacted: n == Inventory || n == Placements || n == ActionLeases, n == ActionLeases ? ActionLeaseCompactionLag : null)).ToArray();
    }

    private string[] Names() => [Samples, Inventory, Detections, Commands, Results, Placements, Siem, Dlq, ActionLeases, Reservations];
}
