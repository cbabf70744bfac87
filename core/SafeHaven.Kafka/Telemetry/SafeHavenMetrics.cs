using System.Diagnostics.Metrics;

namespace SafeHaven.Kafka.Telemetry;

/// <summary>
/// The process's instruments, one <see cref="Meter"/> per component (<c>SafeHaven.&lt;Component&gt;</c>), named in
/// OpenTelemetry's style with unit annotations. Every role records here; an exporter subscribes to
/// <see cref="MeterPrefix"/><c>*</c> (docs/OPERATIONS.md, "Metrics"). Instruments are process-wide: listeners find
/// them by name, and recording costs nothing while nobody listens.
/// </summary>
public static class SafeHavenMetrics
{
    /// <summary>Every SafeHaven meter's name starts with this.</summary>
    public const string MeterPrefix = "SafeHaven.";

    /// <summary>The detector's meter.</summary>
    public const string DetectorMeter = "SafeHaven.Detector";

    /// <summary>The planner's meter.</summary>
    public const string PlannerMeter = "SafeHaven.Planner";

    /// <summary>The actuators' meter (host, container and hypervisor agents).</summary>
    public const string ActuatorMeter = "SafeHaven.Actuator";

    /// <summary>The SIEM projector's meter.</summary>
    public const string SiemMeter = "SafeHaven.Siem";

    /// <summary>The moving-target scheduler's meter.</summary>
    public const string MovingTargetMeter = "SafeHaven.MovingTarget";

    /// <summary>Samples the detector evaluated (each entry of a batch counts once).</summary>
    public const string DetectorSamples = "safehaven.detector.samples";

    /// <summary>Sample batch records the detector decoded.</summary>
    public const string DetectorBatches = "safehaven.detector.batches";

    /// <summary>Detections the detector emitted, tagged <c>rule</c> and <c>scope</c>.</summary>
    public const string DetectorDetections = "safehaven.detector.detections";

    /// <summary>Commands the planner issued, tagged <c>level</c> and <c>action</c>.</summary>
    public const string PlannerCommands = "safehaven.planner.commands";

    /// <summary>Detections the planner settled with a skipped result (budget or policy), tagged <c>level</c>.</summary>
    public const string PlannerBudgetSkips = "safehaven.planner.budget.skips";

    /// <summary>
    /// Answers of other datacenters' receives after their booking was given back, and what became of such bookings, tagged
    /// <c>outcome</c> (held, conflict, resolved, settled, gone, dropped, or refused-REASON; docs/LEDGER.md, "Late receives").
    /// </summary>
    public const string PlannerLateReceives = "safehaven.planner.late.receives";

    /// <summary>Slots the active planner's ledger holds (observable gauge).</summary>
    public const string PlannerLedgerSlots = "safehaven.planner.ledger.slots";

    /// <summary>Results an agent published, tagged <c>level</c> and <c>outcome</c> (the result's status).</summary>
    public const string ActuatorCommands = "safehaven.actuator.commands";

    /// <summary>Histogram of a command's total time (finished − started) in ms, tagged <c>level</c> and <c>outcome</c>.</summary>
    public const string ActuatorMoveDuration = "safehaven.actuator.move.duration";

    /// <summary>Histogram of each phase of a move in ms, tagged <c>level</c> and <c>phase</c>.</summary>
    public const string ActuatorPhaseDuration = "safehaven.actuator.move.phase.duration";

    /// <summary>Events the SIEM projector wrote.</summary>
    public const string SiemEvents = "safehaven.siem.events";

    /// <summary>Moving-target rounds run.</summary>
    public const string MovingTargetRounds = "safehaven.mtd.rounds";

    /// <summary>Moving-target migration commands issued.</summary>
    public const string MovingTargetMigrations = "safehaven.mtd.migrations";

    /// <summary>Moving-target entity-rounds without a command (no pool, no spare CPU).</summary>
    public const string MovingTargetUnplaced = "safehaven.mtd.unplaced";

    /// <summary>The meter every Kafka client shares (dead letters, lost records, lag): one instance per process.</summary>
    internal static Meter Kafka { get; } = new(Clients.LogStartWatch.MeterName);

    private static readonly Meter Detector = new(DetectorMeter);
    private static readonly Meter Planner = new(PlannerMeter);
    private static readonly Meter Actuator = new(ActuatorMeter);
    private static readonly Meter Siem = new(SiemMeter);
    private static readonly Meter MovingTarget = new(MovingTargetMeter);

    internal static Counter<long> Samples { get; } = Detector.CreateCounter<long>(DetectorSamples, "{sample}", "Samples the detector evaluated.");

    internal static Counter<long> Batches { get; } = Detector.CreateCounter<long>(DetectorBatches, "{record}", "SampleBatch records the detector decoded.");

    internal static Counter<long> Detections { get; } = Detector.CreateCounter<long>(DetectorDetections, "{detection}", "Detections emitted.");

    internal static Counter<long> Commands { get; } = Planner.CreateCounter<long>(PlannerCommands, "{command}", "Commands the planner issued.");

    internal static Counter<long> BudgetSkips { get; } = Planner.CreateCounter<long>(PlannerBudgetSkips, "{detection}",
        "Detections the planner answered with a skipped result: a move budget, the cooldown or the policy.");

    internal static Counter<long> LateReceives { get; } = Planner.CreateCounter<long>(PlannerLateReceives, "{result}",
        "Late answers of other datacenters' receives and their given-back bookings, by outcome.");

    internal static Counter<long> Results { get; } = Actuator.CreateCounter<long>(ActuatorCommands, "{command}", "Results the agents published.");

    internal static Histogram<double> MoveDuration { get; } = Actuator.CreateHistogram<double>(ActuatorMoveDuration, "ms",
        "A command's total time at the agent, from start to finish.");

    internal static Histogram<double> PhaseDuration { get; } = Actuator.CreateHistogram<double>(ActuatorPhaseDuration, "ms",
        "Each phase of a move as the agent's result reports it.");

    internal static Counter<long> Events { get; } = Siem.CreateCounter<long>(SiemEvents, "{event}", "Events written to the SIEM topic.");

    internal static Counter<long> Rounds { get; } = MovingTarget.CreateCounter<long>(MovingTargetRounds, "{round}", "Moving-target moves that came due (one per scheduled entity per period).");

    internal static Counter<long> Migrations { get; } = MovingTarget.CreateCounter<long>(MovingTargetMigrations, "{command}", "Moving-target migrations ordered.");

    internal static Counter<long> Unplaced { get; } = MovingTarget.CreateCounter<long>(MovingTargetUnplaced, "{entity}",
        "Moving-target entity-rounds without a command.");

    // Read at collection time from whichever planner term holds the ledger now.
    private static Func<int>? _ledgerSource;

    internal static ObservableGauge<int> LedgerSlots { get; } = Planner.CreateObservableGauge(PlannerLedgerSlots,
        () => Volatile.Read(ref _ledgerSource) is { } s ? [new Measurement<int>(s())] : Array.Empty<Measurement<int>>(),
        "{slot}", "Slots the active planner's ledger holds.");

    /// <summary>Observes the held-slot count <paramref name="slots"/> reads until the returned handle is disposed (a planner term).</summary>
    public static IDisposable ObserveLedger(Func<int> slots)
    {
        Volatile.Write(ref _ledgerSource, slots);
        return new Unobserve(() => Interlocked.CompareExchange(ref _ledgerSource, null, slots));
    }

    /// <summary>Counts samples the detector evaluated.</summary>
    public static void DetectorSampled(long count) => Samples.Add(count);

    /// <summary>Counts one decoded batch record.</summary>
    public static void DetectorBatch() => Batches.Add(1);

    /// <summary>Counts one detection of <paramref name="rule"/> (scope <paramref name="scope"/>).</summary>
    public static void Detected(string rule, string scope) =>
        Detections.Add(1, new KeyValuePair<string, object?>("rule", rule), new KeyValuePair<string, object?>("scope", scope));

    /// <summary>Counts one command the planner issued.</summary>
    public static void CommandIssued(string level, string action) =>
        Commands.Add(1, new KeyValuePair<string, object?>("level", level), new KeyValuePair<string, object?>("action", action));

    /// <summary>Counts one late receive's answer or given-back booking by what became of it.</summary>
    public static void LateReceive(string outcome) => LateReceives.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>Counts one detection settled by a skipped result.</summary>
    public static void BudgetSkipped(string level) => BudgetSkips.Add(1, new KeyValuePair<string, object?>("level", level));

    /// <summary>Counts one published result and records its total and phase times (nanoseconds in, milliseconds out).</summary>
    public static void ResultPublished(string level, string outcome, long totalNs, IEnumerable<KeyValuePair<string, long>>? phasesNs)
    {
        var levelTag = new KeyValuePair<string, object?>("level", level);
        var outcomeTag = new KeyValuePair<string, object?>("outcome", outcome);
        Results.Add(1, levelTag, outcomeTag);
        // Clock steps can make a difference negative: such a time is not a duration.
        if (totalNs >= 0)
        {
            MoveDuration.Record(totalNs / 1e6, levelTag, outcomeTag);
        }
        foreach (var (phase, ns) in phasesNs ?? [])
        {
            if (ns >= 0)
            {
                PhaseDuration.Record(ns / 1e6, levelTag, new KeyValuePair<string, object?>("phase", phase));
            }
        }
    }

    /// <summary>Counts one SIEM event written.</summary>
    public static void SiemEvent() => Events.Add(1);

    /// <summary>Counts one moving-target round.</summary>
    public static void MovingTargetRound() => Rounds.Add(1);

    /// <summary>Counts one moving-target migration ordered.</summary>
    public static void MovingTargetIssued() => Migrations.Add(1);

    /// <summary>Counts one moving-target entity-round without a command.</summary>
    public static void MovingTargetNotPlaced() => Unplaced.Add(1);

    private sealed class Unobserve(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }
}
