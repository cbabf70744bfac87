using SafeHaven.Schemas;
using DetectionRecord = SafeHaven.Schemas.Detection;

namespace SafeHaven.Core.Placement;

/// <summary>What the planner decided: ledger records to persist, then commands to send, or why there are none.</summary>
/// <param name="Command">The command to send, or null.</param>
/// <param name="Reasons">Every step of the reasoning, escalations included.</param>
/// <param name="Receive">
/// For a VM or container move, the <see cref="Actions.Receive"/> command to the target agent: send it before
/// <paramref name="Command"/>, so the destination prepares while the source validates.
/// </param>
/// <param name="Ledger">Ledger records to write (and have acknowledged) before any command goes out.</param>
public sealed record PlanDecision(IsolationCommand? Command, IReadOnlyList<string> Reasons, IsolationCommand? Receive = null,
    IReadOnlyList<SlotRecord>? Ledger = null)
{
    /// <summary>Why the input record is refused outright (stale, a protected entity): dead-letter it; nothing changed.</summary>
    public string? DeadLetter { get; init; }

    /// <summary>A <c>skipped</c> result to publish instead of a move (a budget or the cooldown), naming why.</summary>
    public IsolationResult? Skipped { get; init; }

    /// <summary>A release of a moving-target entity whose CPU this detection takes: send it before <see cref="Command"/>.</summary>
    public IsolationCommand? Preempt { get; init; }

    /// <summary>Ledger records to write; empty when none.</summary>
    public IReadOnlyList<SlotRecord> Records => Ledger ?? [];

    /// <summary>What a result of another datacenter's receive did after its booking was given back, or null (count and log it).</summary>
    public LateReceive? Late { get; init; }
}

/// <summary>Planner settings.</summary>
/// <param name="CommandTtl">How long an actuator may still start a command (deadline = issued + ttl).</param>
/// <param name="DryRun">Mark every command as a dry run.</param>
/// <param name="ExpiryGrace">After a command's deadline, how long its result may still take before the command is reconciled.</param>
/// <param name="Policy">What the planner refuses, and its move budgets; <see cref="PlannerPolicy.Default"/> when null.</param>
public sealed record PlannerSettings(TimeSpan CommandTtl, bool DryRun = false, TimeSpan? ExpiryGrace = null, PlannerPolicy? Policy = null)
{
    /// <summary>The grace in force: 5 s unless set.</summary>
    public TimeSpan Grace => ExpiryGrace ?? TimeSpan.FromSeconds(5);

    /// <summary>The policy in force.</summary>
    public PlannerPolicy Rules => Policy ?? PlannerPolicy.Default;

    /// <summary>
    /// Names another datacenter's live action lease on an entity id, or null (docs/SCALING.md §4): while one lives, a
    /// detection of that entity plans nothing here (a redelivery after the lease ends plans it). Null: no leases read.
    /// </summary>
    public Func<string, string?>? LeaseRefusal { get; init; }
}

/// <summary>
/// Decides where a detected entity goes. It starts at the cheapest level that breaks the rule's
/// scope (docs/DESIGN.md §2), and climbs one level at a time while a level has no actuator, no free
/// slot, or the entity cannot move at it. Every booking is a ledger record in the returned decision.
/// Pure: the clock is injected, I/O is the caller's.
/// </summary>
public sealed partial class Planner(PlacementBook book, TimeProvider time, PlannerSettings settings)
{
    // Detections no level could place (e.g. the actuators' inventory arrived after them) wait in the ledger
    // and are tried again when the inventory changes or a slot is freed. Bounded, oldest dropped.
    private const int MaxUnplaced = 1000;

    // Detections whose members already left the ledger (failed at every level, released, exited): a redelivery
    // of one must not start over. In memory, bounded: across a restart only the one uncommitted record is
    // redelivered, and its command id is deterministic, so an agent that ran it answers as a duplicate.
    private readonly HashSet<string> _settled = new(StringComparer.Ordinal);
    private readonly Queue<string> _settledOrder = new();
    private const int MaxSettled = 100_000;

    /// <summary>Commands issued and not yet answered (members pending or releasing).</summary>
    public int Pending => book.Held.Sum(s => s.members.Count(m => m.status != MemberStatus.Held));

    /// <summary>Detections waiting for an isolation target.</summary>
    public int Unplaced => book.Waiting.Count;

    /// <summary>
    /// Plans again every detection that found no target, after the inventory changed (a new
    /// actuator, a freed host) or a slot was freed. Returns the decisions that produced a command.
    /// </summary>
    public IReadOnlyList<PlanDecision> Retry() => Retry(book.Waiting);

    /// <summary>Plans again the detection of <paramref name="entityId"/> if it waits (e.g. its inventory record just arrived).</summary>
    public IReadOnlyList<PlanDecision> RetryEntity(string entityId) =>
        book.WaitingOf(entityId) is { } waiting ? Retry([waiting]) : [];

    private List<PlanDecision> Retry(IReadOnlyList<SlotRecord> waitingSlots)
    {
        var decisions = new List<PlanDecision>();
        foreach (var waiting in waitingSlots)
        {
            var m = waiting.members[0];
            // One whose moving-target move is in flight is planned when that move's result arrives (OnMoveResult).
            if (!Scopes.All.Contains(m.scope) || MovePending(m.entityId))
            {
                continue;
            }
            // A schedule may hold it (its move's expiry kept it in place): it adopts that slot rather than join it twice.
            var d = book.MembershipsOf(m.entityId).Any(x => IsMovingTarget(x.Member))
                ? Resume(m.entityId, m.entityId, [], [])
                : PlanFrom(AsDetection(m), m.entityId, Scopes.MinimumLevel(m.scope), []);
            // Placed, or settled another way (over a budget): either wrote ledger records the caller must persist.
            if (d.Command is not null || d.Skipped is not null || d.Records.Count > 0)
            {
                decisions.Add(d);
            }
        }
        return decisions;
    }

    /// <summary>
    /// Plans the isolation of a detected entity, starting at its scope's minimum level; a quiet signal
    /// releases it instead. A detection already in the ledger, or an entity already isolated or on its
    /// way there, changes nothing: one detection gives at most one effective command.
    /// </summary>
    public PlanDecision Plan(DetectionRecord detection)
    {
        ArgumentNullException.ThrowIfNull(detection);
        if (detection.kind == DetectionKinds.Quiet)
        {
            return OnQuiet(detection);
        }
        // Records built before the field existed (or in code) carry no kind: they are detections.
        if (detection.kind is not (null or DetectionKinds.Detected))
        {
            return new PlanDecision(null, [$"unknown detection kind '{detection.kind}'"]);
        }
        string level;
        string entityId;
        try
        {
            level = Scopes.MinimumLevel(detection.scope);
        }
        catch (ArgumentException e)
        {
            return new PlanDecision(null, [e.Message]);
        }
        try
        {
            entityId = EntityIds.Of(detection.entity);
        }
        catch (ArgumentException e)
        {
            return new PlanDecision(null, [$"invalid entity: {e.Message}"]);
        }
        if (book.HasDetection(detection.detectionId) || _settled.Contains(detection.detectionId))
        {
            return new PlanDecision(null, [$"detection {detection.detectionId} is already in the ledger: nothing to do"]);
        }
        if (settings.LeaseRefusal?.Invoke(entityId) is { } leased)
        {
            // Another datacenter acts on the entity: this planner must not, and must not settle the detection either.
            return new PlanDecision(null, [leased]);
        }
        if (Refusal(detection, entityId) is { } refused)
        {
            return new PlanDecision(null, [refused]) { DeadLetter = refused };
        }
        if (book.WaitingOf(entityId) is { } waiting)
        {
            return new PlanDecision(null, [$"{entityId} already waits for a slot (detection {waiting.members[0].detectionId})"]);
        }
        if (Adopt(detection, entityId) is { } adopted)
        {
            return adopted;
        }
        // Held at a level whose isolation already breaks this scope (e.g. moved to another host, or a node of its own).
        if (book.MembershipsOf(entityId).FirstOrDefault(x => Levels.All.Contains(x.Slot.level) && Scopes.Breaks(detection.scope, x.Slot.level))
            is { Slot: not null } already)
        {
            return new PlanDecision(null, [$"{entityId} is already {already.Member.status} in slot {already.Slot.slot} (level {already.Slot.level})"]);
        }
        return PlanFrom(detection, entityId, level, []);
    }

    private void Settle(string? detectionId)
    {
        if (detectionId is not null && _settled.Add(detectionId))
        {
            _settledOrder.Enqueue(detectionId);
            if (_settledOrder.Count > MaxSettled)
            {
                _settled.Remove(_settledOrder.Dequeue());
            }
        }
    }

    // wait: a detection no level can place waits in the ledger; false after a failure, whose level will not be tried again.
    // retry: the command ids get the retry step, so they differ from those the agent already answered.
    private PlanDecision PlanFrom(DetectionRecord d, string entityId, string level, List<string> reasons, List<SlotRecord>? ledger = null,
        bool wait = true, bool retry = false)
    {
        ledger ??= [];
        if (OverBudget(d, entityId, level, reasons, ledger) is { } skipped)
        {
            return skipped;
        }
        var group = GroupOf(d.entity, entityId);
        // A bare process's group (its process group) comes with its inventory record; placed before that, it
        // would take a slot of its own that its siblings could never join. So it waits for the record.
        bool groupKnown = d.entity.pid is null || d.entity.container is not null || d.entity.vm is not null || book.Tenants.Knows(entityId);
        if (!groupKnown)
        {
            reasons.Add($"inventory record of {entityId} not seen yet: its suspect group is unknown");
        }
        for (string? l = groupKnown ? level : null; l is not null; l = NextLevel(d.scope, l))
        {
            var (source, slot, target, why) = FindSlot(d.entity, entityId, group, l, d.scope);
            reasons.Add($"level {l}: {why}");
            if (source is null)
            {
                continue;
            }
            var command = NewCommand(d.detectionId, d.entity, source.ActuatorId, l, Actions.Isolate, target!, group, reasons, retry);
            var preempted = _preempted;
            _preempted = null;
            if (preempted is { } p)
            {
                ledger.Add(p.Record);
            }
            var member = new SlotMember
            {
                entityId = entityId, entity = d.entity, detectionId = d.detectionId, rule = d.rule, scope = d.scope,
                status = MemberStatus.Pending, commandId = command.commandId, source = source.ActuatorId, target = target!,
                deadlineNs = command.deadlineNs, attempts = 1,
            };
            ledger.Add(book.Add(slot!, member, string.Join("; ", reasons), command.issuedAtNs));
            Spend(d.entity, entityId, d.detectionId, command.issuedAtNs);
            if (book.Unwait(entityId, $"placed at level {l}", command.issuedAtNs) is { } placed)
            {
                ledger.Add(placed);
            }
            return new PlanDecision(command, reasons, l is Levels.Vm or Levels.Container ? ReceiveFor(command) : null, ledger)
            {
                Preempt = preempted?.Release,
            };
        }
        if (!wait)
        {
            reasons.Add("no level above can isolate the entity: it stays where it is");
            return new PlanDecision(null, reasons, Ledger: ledger);
        }
        reasons.Add(groupKnown
            ? "no level can isolate the entity (retried when the inventory changes or a slot is freed)"
            : "waits for its inventory record (retried when it arrives)");
        if (book.WaitingOf(entityId)?.members[0].detectionId != d.detectionId)
        {
            var now = NowNs();
            if (book.Waiting.Count >= MaxUnplaced && book.Waiting[0] is { } oldest)
            {
                ledger.Add(book.Unwait(oldest.members[0].entityId, $"dropped: more than {MaxUnplaced} detections waiting", now)!);
            }
            var waiting = new SlotMember
            {
                entityId = entityId, entity = d.entity, detectionId = d.detectionId, rule = d.rule, scope = d.scope,
                status = MemberStatus.Waiting, commandId = null, source = "", target = "", deadlineNs = 0, attempts = 0,
            };
            ledger.Add(book.Wait(waiting, group, string.Join("; ", reasons), now));
        }
        return new PlanDecision(null, reasons, Ledger: ledger);
    }

    /// <summary>
    /// The suspect group of an entity (<see cref="SuspectGroups"/>), from what the inventory says of it; a VM or container
    /// that moved host keeps the group its slot was booked for (<see cref="PlacementBook.MovedGroupOf"/>).
    /// </summary>
    public string GroupOf(EntityRef e, string entityId) =>
        book.MovedGroupOf(entityId) ?? SuspectGroups.Of(e, entityId, book.Tenants.TenantOf(entityId), book.Tenants.GroupOf(entityId));

    private (ActuatorInfo? Source, Reservation? Slot, string? Target, string Why) FindSlot(EntityRef e, string entityId, string group, string level, string scope)
    {
        switch (level)
        {
            case Levels.Core:
                if (e.pid is null)
                {
                    return (null, null, null, "entity is not a process");
                }
                var host = book.OnHost(e.datacenter, e.host, Levels.Core);
                if (host is null)
                {
                    return (null, null, null, $"no core-level actuator on host {e.host}");
                }
                var core = book.ReserveCore(host, group);
                return core switch
                {
                    null when Preempt(host, group) is { } taken =>
                        (host, taken, taken.Cpus.ToString(), $"CPU {taken.Cpus} of {host.ActuatorId} taken from a moving-target entity (detections win)"),
                    null => (null, null, null, $"no free CPU in isolation pool {host.IsolationPool} of {host.ActuatorId}"),
                    { Fresh: true } => (host, core, core.Cpus.ToString(), $"exclusive CPU {core.Cpus} of {host.ActuatorId}'s pool {host.IsolationPool} for group {group}"),
                    _ => (host, core, core.Cpus.ToString(), $"joins CPU {core.Cpus} of {host.ActuatorId}, held by its group {group}"),
                };
            case Levels.Smt or Levels.Llc or Levels.Numa:
                return FindOnHost(e, group, level);
            case Levels.Container or Levels.Vm:
                return FindHost(e, entityId, group, level, scope);
            default:
                return (null, null, null, $"unknown level {level}");
        }
    }
}
