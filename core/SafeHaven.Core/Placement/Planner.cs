using System.Globalization;
using SafeHaven.Schemas;
using DetectionRecord = SafeHaven.Schemas.Detection;

namespace SafeHaven.Core.Placement;

/// <summary>What the planner decided for a detection or result: a command, or why there is none.</summary>
/// <param name="Command">The command to send, or null.</param>
/// <param name="Reasons">Every step of the reasoning, escalations included.</param>
/// <param name="Receive">
/// For a VM or container move, the <see cref="Actions.Receive"/> command to the target agent: send it before
/// <paramref name="Command"/>, so the destination prepares while the source validates.
/// </param>
public sealed record PlanDecision(IsolationCommand? Command, IReadOnlyList<string> Reasons, IsolationCommand? Receive = null);

/// <summary>Planner settings.</summary>
/// <param name="CommandTtl">How long an actuator may still start a command (deadline = issued + ttl).</param>
/// <param name="DryRun">Mark every command as a dry run.</param>
public sealed record PlannerSettings(TimeSpan CommandTtl, bool DryRun = false);

/// <summary>
/// Decides where a detected entity goes. It starts at the cheapest level that breaks the rule's
/// scope (DESIGN §2), and climbs one level at a time while a level has no actuator, no free
/// slot, or the entity cannot move at it. Pure: the clock is injected, I/O is the caller's.
/// </summary>
public sealed class Planner(PlacementBook book, TimeProvider time, PlannerSettings settings)
{
    private readonly Dictionary<string, (DetectionRecord Detection, string Level, string EntityId, Reservation Slot)> _pending = new(StringComparer.Ordinal);
    private long _sequence;

    // Detections no level could place (e.g. the actuators' inventory arrived after them): tried
    // again when the inventory changes. Bounded, oldest dropped.
    private readonly Dictionary<string, DetectionRecord> _unplaced = new(StringComparer.Ordinal);
    private readonly Queue<string> _unplacedOrder = new();
    private const int MaxUnplaced = 1000;

    /// <summary>Commands issued and not yet answered.</summary>
    public int Pending => _pending.Count;

    /// <summary>Detections waiting for an isolation target.</summary>
    public int Unplaced => _unplaced.Count;

    /// <summary>
    /// Plans again every detection that found no target, after the inventory changed (a new
    /// actuator, a freed host). Returns the decisions that produced a command.
    /// </summary>
    public IReadOnlyList<PlanDecision> Retry()
    {
        var waiting = _unplacedOrder.Where(_unplaced.ContainsKey).Select(id => _unplaced[id]).ToList();
        _unplaced.Clear();
        _unplacedOrder.Clear();
        return [.. waiting.Select(Plan).Where(d => d.Command is not null)];
    }

    /// <summary>Plans the isolation of a detected entity, starting at its scope's minimum level.</summary>
    public PlanDecision Plan(DetectionRecord detection)
    {
        ArgumentNullException.ThrowIfNull(detection);
        var reasons = new List<string>();
        string level;
        try
        {
            level = Scopes.MinimumLevel(detection.scope);
        }
        catch (ArgumentException e)
        {
            return new PlanDecision(null, [e.Message]);
        }
        return PlanFrom(detection, level, reasons);
    }

    /// <summary>
    /// Takes an actuator's result: success keeps the slot; failure frees it and tries the next
    /// level up. Results for commands this planner did not issue are ignored.
    /// </summary>
    public PlanDecision OnResult(IsolationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (!_pending.Remove(result.commandId, out var p))
        {
            return new PlanDecision(null, [$"result for unknown command {result.commandId}"]);
        }
        if (result.status is ResultStatus.Succeeded or ResultStatus.Skipped)
        {
            return new PlanDecision(null, [$"{p.EntityId} isolated at level {p.Level} ({result.status})"]);
        }
        book.Release(p.EntityId, p.Slot);
        var reasons = new List<string> { $"level {p.Level}: actuator reported {result.status}: {result.error}" };
        var next = Levels.Next(p.Level);
        if (next is null)
        {
            reasons.Add("no level above " + p.Level + ": entity stays where it is");
            return new PlanDecision(null, reasons);
        }
        return PlanFrom(p.Detection, next, reasons);
    }

    private PlanDecision PlanFrom(DetectionRecord d, string level, List<string> reasons)
    {
        string entityId;
        try
        {
            entityId = EntityIds.Of(d.entity);
        }
        catch (ArgumentException e)
        {
            return new PlanDecision(null, [$"invalid entity: {e.Message}"]);
        }
        for (string? l = level; l is not null; l = Levels.Next(l))
        {
            var (actuator, slot, target, why) = FindSlot(d.entity, entityId, l);
            reasons.Add($"level {l}: {why}");
            if (actuator is null)
            {
                continue;
            }
            var command = NewCommand(d, actuator, l, target!, reasons);
            _pending[command.commandId] = (d, l, entityId, slot!);
            return new PlanDecision(command, reasons, l is Levels.Vm or Levels.Container ? ReceiveFor(command) : null);
        }
        reasons.Add("no level can isolate the entity (retried when the inventory changes)");
        if (_unplaced.TryAdd(d.detectionId, d))
        {
            _unplacedOrder.Enqueue(d.detectionId);
            if (_unplacedOrder.Count > MaxUnplaced)
            {
                _unplaced.Remove(_unplacedOrder.Dequeue());
            }
        }
        return new PlanDecision(null, reasons);
    }

    private (ActuatorInfo? Actuator, Reservation? Slot, string? Target, string Why) FindSlot(EntityRef e, string entityId, string level)
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
                var core = book.ReserveCore(host, entityId);
                return core is null
                    ? (null, null, null, $"no free CPU in isolation pool {host.IsolationPool} of {host.ActuatorId}")
                    : (host, core, core.Cpus.ToString(), $"exclusive CPU {core.Cpus} of {host.ActuatorId}'s pool {host.IsolationPool}");
            case Levels.Container or Levels.Vm:
                var movable = level == Levels.Container ? e.container is not null : e.vm is not null;
                if (!movable)
                {
                    return (null, null, null, $"entity is not in a {level}");
                }
                var source = book.OnHost(e.datacenter, e.host, level);
                if (source is null)
                {
                    return (null, null, null, $"no {level}-level actuator on host {e.host}");
                }
                // A target host with no other tenant: no entity of another tenant runs there and
                // no other suspect holds it.
                var tenant = book.Tenants.TenantOf(entityId);
                var refused = new List<string>();
                foreach (var t in book.Actuators.Where(a => a.Levels.Contains(level) && a.Host != e.host)
                             .OrderBy(a => a.ActuatorId, StringComparer.Ordinal))
                {
                    if (book.Tenants.OtherTenants(t.Datacenter, t.Host, tenant) is { Count: > 0 } others)
                    {
                        refused.Add($"{t.Host} runs tenant {string.Join(", ", others)}");
                        continue;
                    }
                    if (level == Levels.Vm && t.CapacityMiB is { } free && book.Tenants.VmMemoryOf(entityId) is { } needed && free < needed)
                    {
                        refused.Add($"{t.Host} has {free} MiB free, the VM needs {needed} MiB");
                        continue;
                    }
                    if (book.ReserveHost(t, entityId) is { } hostSlot)
                    {
                        return (source, hostSlot, t.ActuatorId, $"{level} moves from {source.Host} to {t.Host}, which has no other tenant");
                    }
                    refused.Add($"{t.Host} is held for another suspect");
                }
                return (null, null, null, $"no free target host for level {level}{(refused.Count > 0 ? " (" + string.Join("; ", refused) + ")" : "")}");
            default:
                return (null, null, null, $"unknown level {level}");
        }
    }

    private IsolationCommand NewCommand(DetectionRecord d, ActuatorInfo actuator, string level, string target, List<string> reasons)
    {
        var now = time.GetUtcNow();
        var nowNs = (now - DateTimeOffset.UnixEpoch).Ticks * 100;
        var seq = Interlocked.Increment(ref _sequence);
        return new IsolationCommand
        {
            commandId = CommandId(d.detectionId, level, seq),
            detectionId = d.detectionId,
            entity = d.entity,
            level = level,
            action = Actions.Isolate,
            source = actuator.ActuatorId,
            target = target,
            issuedAtNs = nowNs,
            deadlineNs = nowNs + settings.CommandTtl.Ticks * 100,
            dryRun = settings.DryRun,
            reasons = [.. reasons],
            keyId = null,
            signature = [],
        };
    }

    // The destination's half of a move: its result is the destination's report, not the move's
    // outcome (the source's result is), so it is not pending here.
    private static IsolationCommand ReceiveFor(IsolationCommand move) => new()
    {
        commandId = move.commandId + Actions.ReceiveIdSuffix,
        detectionId = move.detectionId,
        entity = move.entity,
        level = move.level,
        action = Actions.Receive,
        source = move.source,
        target = move.target,
        issuedAtNs = move.issuedAtNs,
        deadlineNs = move.deadlineNs,
        dryRun = move.dryRun,
        reasons = move.reasons,
        keyId = null,
        signature = [],
    };

    // Readable when it fits the 128-character id limit; otherwise the detection id is replaced by
    // its hash, so a long host or rule name never makes every command invalid.
    private static string CommandId(string detectionId, string level, long seq)
    {
        var id = string.Create(CultureInfo.InvariantCulture, $"c-{detectionId}-{level}-{seq}");
        if (id.Length <= 128 - Actions.ReceiveIdSuffix.Length && Identifiers.IsId(id))
        {
            return id;
        }
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(detectionId ?? ""))[..16]);
        return string.Create(CultureInfo.InvariantCulture, $"c-{hash}-{level}-{seq}");
    }
}
