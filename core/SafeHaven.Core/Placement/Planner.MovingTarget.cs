using System.Globalization;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Placement;

/// <summary>One periodic move a moving-target schedule asks for (docs/LEDGER.md, "Moving-target moves").</summary>
/// <param name="Schedule">The schedule's name (a token): its members carry the rule <c>mtd:SCHEDULE</c>.</param>
/// <param name="Level">core, container or vm.</param>
/// <param name="Entity">The entity as configured: pid, container id or VM name on its first host.</param>
/// <param name="AllowedTargets">CPUs (core) or actuator ids or host names (container, vm) it may go to; empty: any.</param>
public sealed record MovingTargetMove(string Schedule, string Level, EntityRef Entity, IReadOnlyList<string> AllowedTargets);

// Moving-target moves go through the same ledger, budgets and signed commands as detections, so the two never
// fight over a slot. Precedence, detections win: a move only takes a free slot; it never moves an entity a
// detection placed; a detected entity it holds is adopted by the detection; a core detection that finds no free
// CPU takes one a moving-target entity holds (that entity is released to the shared CPUs first); and moves may
// spend at most half of each host and datacenter budget, none of the per-entity one.
public sealed partial class Planner
{
    /// <summary>The rule of every moving-target member: <c>mtd:SCHEDULE</c>.</summary>
    public const string MovingTargetRulePrefix = "mtd:";

    // The share of the host and datacenter budgets moving-target moves may spend: the rest is kept for detections.
    private const double MovingTargetBudgetShare = 0.5;

    // A core slot a detection took from a moving-target entity while finding its slot: written first, released first.
    private (SlotRecord Record, IsolationCommand Release)? _preempted;

    /// <summary>True for a ledger member placed by a moving-target schedule rather than a detection.</summary>
    public static bool IsMovingTarget(SlotMember m) =>
        m.detectionId is null && m.rule?.StartsWith(MovingTargetRulePrefix, StringComparison.Ordinal) == true;

    /// <summary>
    /// Plans one periodic move: the next free target after the entity's current one, booked in the ledger before
    /// the command. Refused (a <c>skipped</c> result naming why) when a detection holds the entity, its previous
    /// move is unanswered, no target is free or the moving-target share of a budget is spent.
    /// </summary>
    public PlanDecision PlanMove(MovingTargetMove move)
    {
        ArgumentNullException.ThrowIfNull(move);
        var rule = MovingTargetRulePrefix + move.Schedule;
        // Every membership of the entity, whatever its id now (a VM or container that moved has its new host's id).
        var all = book.Held.SelectMany(s => s.members.Where(m => Same(m.entity, move.Entity)).Select(m => (Slot: s, Member: m))).ToList();
        var mine = all.Where(x => x.Member.rule == rule).ToList();
        var at = mine.FirstOrDefault(x => x.Member.status == MemberStatus.Held);
        var entity = at.Member?.entity ?? move.Entity;
        var entityId = at.Member?.entityId ?? EntityIds.Of(move.Entity);
        var now = NowNs();
        var commandId = string.Create(CultureInfo.InvariantCulture, $"mtd-{move.Schedule}-{Hash(rule + "|" + entityId)}-{now}");
        PlanDecision Skip(string why) => new(null, [why])
        {
            Skipped = new IsolationResult
            {
                commandId = commandId, entity = entity, level = move.Level, status = ResultStatus.Skipped, error = why, startedAtNs = now,
                finishedAtNs = now, phases = new Dictionary<string, long>(StringComparer.Ordinal), actuator = "planner", dryRun = settings.DryRun,
            },
        };
        if (all.Any(x => !IsMovingTarget(x.Member)) || book.WaitingOf(entityId) is not null || book.WaitingOf(EntityIds.Of(move.Entity)) is not null)
        {
            return Skip($"moving-target: {entityId} is held or awaited by a detection: detections win, it is not moved");
        }
        if (mine.FirstOrDefault(x => x.Member.status != MemberStatus.Held) is { Slot: not null } outstanding)
        {
            return Skip($"moving-target: {entityId}'s previous move {outstanding.Member.commandId} has no result yet");
        }
        if (_budget.ExceededShared(entity.datacenter, entity.host, now, MovingTargetBudgetShare) is { } spent)
        {
            return Skip($"moving-target: {spent} (moves may use half of it; the rest is kept for detections)");
        }
        var group = GroupOf(entity, entityId);
        var (source, slot, target, why) = move.Level == Levels.Core
            ? NextCore(entity, group, at.Slot, move.AllowedTargets)
            : NextHost(entity, group, move.Level, move.AllowedTargets);
        if (source is null)
        {
            return Skip($"moving-target: {entityId}: {why}");
        }
        var reasons = new List<string> { $"moving-target schedule {move.Schedule}: {why}" };
        var command = NewCommand(null, entity, source.ActuatorId, move.Level, Actions.Isolate, target!, group, reasons);
        command.commandId = commandId;
        var member = new SlotMember
        {
            entityId = entityId, entity = entity, detectionId = null, rule = rule, scope = move.Level == Levels.Core ? Scopes.Core : Scopes.Machine,
            status = MemberStatus.Pending, commandId = commandId, source = source.ActuatorId, target = target!, deadlineNs = command.deadlineNs, attempts = 1,
        };
        var record = book.Add(slot!, member, reasons[0], now);
        _budget.SpendShared(entity.datacenter, entity.host, now);
        return new PlanDecision(command, reasons, move.Level == Levels.Core ? null : ReceiveFor(command), [record]);
    }

    // The pool's next free CPU after the one held (ascending, wrapping), within the allowed CPUs.
    private (ActuatorInfo?, Reservation?, string?, string) NextCore(EntityRef e, string group, SlotRecord? current, IReadOnlyList<string> allowed)
    {
        if (book.OnHost(e.datacenter, e.host, Levels.Core) is not { } host)
        {
            return (null, null, null, $"no core-level actuator on host {e.host}");
        }
        var cpus = host.IsolationPool.Cpus.Order().Where(c => allowed.Count == 0 || allowed.Contains(c.ToString(CultureInfo.InvariantCulture))).ToList();
        var from = current?.cpus is { } c0 && CpuList.TryParse(c0, out var held, out _) && !held.IsEmpty ? held.Cpus.Min() : -1;
        foreach (var cpu in cpus.Where(c => c > from).Concat(cpus.Where(c => c < from)))
        {
            var key = PlacementBook.CoreSlot(host.ActuatorId, cpu);
            if (book.Slot(key) is null)
            {
                return (host, new Reservation(key, host.ActuatorId, Levels.Core, CpuList.Of([cpu]), group, Fresh: true), cpu.ToString(CultureInfo.InvariantCulture),
                    $"core move to CPU {cpu} of {host.ActuatorId}'s pool {host.IsolationPool}");
            }
        }
        return (null, null, null, $"no free CPU besides its own in pool {host.IsolationPool} of {host.ActuatorId} (allowed: {(allowed.Count == 0 ? "any" : string.Join(',', allowed))})");
    }

    // The next host (by actuator id, after the current one) offering the level, free of other groups, within the allowed targets.
    private (ActuatorInfo?, Reservation?, string?, string) NextHost(EntityRef e, string group, string level, IReadOnlyList<string> allowed)
    {
        if ((level == Levels.Vm ? e.vm : e.container) is null)
        {
            return (null, null, null, $"entity is not a {level}");
        }
        if (book.OnHost(e.datacenter, e.host, level) is not { } source)
        {
            return (null, null, null, $"no {level}-level actuator on host {e.host}");
        }
        var targets = book.Actuators.Where(a => a.Levels.Contains(level) && a.Datacenter == e.datacenter && a.Host != e.host
                && (allowed.Count == 0 || allowed.Contains(a.ActuatorId) || allowed.Contains(a.Host)))
            .OrderBy(a => a.ActuatorId, StringComparer.Ordinal).ToList();
        var after = source.ActuatorId;
        foreach (var t in targets.Where(t => string.CompareOrdinal(t.ActuatorId, after) > 0).Concat(targets.Where(t => string.CompareOrdinal(t.ActuatorId, after) <= 0)))
        {
            if (book.ReserveHost(t, level, group) is { Fresh: true } slot)
            {
                return (source, slot, t.ActuatorId, $"{level} move from {e.host} to {t.Host}");
            }
        }
        return (null, null, null, $"no free {level} target host besides {e.host} (allowed: {(allowed.Count == 0 ? "any" : string.Join(',', allowed))})");
    }

    private static bool Same(EntityRef a, EntityRef b) => a.datacenter == b.datacenter &&
        (a.pid is not null ? a.pid == b.pid && a.host == b.host : a.vm is not null ? a.vm == b.vm : a.container is not null && a.container == b.container);

    private static string Hash(string s) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(s))[..6]);
}
