using SafeHaven.Schemas;
using DetectionRecord = SafeHaven.Schemas.Detection;

namespace SafeHaven.Core.Placement;

// What the planner refuses whatever the bus says, and how often it may move things (docs/SECURITY.md).
public sealed partial class Planner
{
    private const int MaxCooldowns = 100_000;

    // Seeded from the ledger's outstanding and held commands, so a restart (or a crash loop) does not refill the budgets.
    private readonly MoveBudget _budget = Seed(book, settings);
    private readonly Dictionary<string, (long AtNs, string? DetectionId)> _lastMove = new(StringComparer.Ordinal);

    // Why a detection must not lead to any move, or null. Checked before it can change any state.
    private string? Refusal(DetectionRecord d, string entityId)
    {
        var now = NowNs();
        var ttlNs = settings.Rules.DetectionTtl.Ticks * 100;
        if (d.detectedAtNs < now - ttlNs)
        {
            return $"stale detection {d.detectionId}: detected {(now - d.detectedAtNs) / 1_000_000_000.0:F1} s ago, beyond the {settings.Rules.DetectionTtl.TotalSeconds:F0} s TTL";
        }
        if (d.detectedAtNs > now + ttlNs)
        {
            return $"detection {d.detectionId} is dated {(d.detectedAtNs - now) / 1_000_000_000.0:F1} s in the future, beyond the {settings.Rules.DetectionTtl.TotalSeconds:F0} s TTL";
        }
        if (d.entity.pid == 1)
        {
            return "pid 1 (init) is never moved";
        }
        if (d.entity.startTime is { } claimed && book.Tenants.StartTimeOf(entityId) is { } known && claimed != known)
        {
            return $"{entityId} in the inventory started at {known}, not {claimed}: the detection is about another process";
        }
        return null;
    }

    // A move the budgets or the cooldown do not allow: a skipped result naming which, and the detection is settled.
    private PlanDecision? OverBudget(DetectionRecord d, string entityId, string level, List<string> reasons, List<SlotRecord> ledger)
    {
        var now = NowNs();
        string? why = null;
        if (_lastMove.TryGetValue(entityId, out var last) && last.DetectionId != d.detectionId
            && now - last.AtNs < settings.Rules.Cooldown.Ticks * 100)
        {
            why = $"cooldown: {entityId} was moved {(now - last.AtNs) / 1_000_000} ms ago (cooldown {settings.Rules.Cooldown.TotalSeconds:F0} s)";
        }
        why ??= _budget.Exceeded(d.entity.datacenter, d.entity.host, entityId, now);
        if (why is null)
        {
            return null;
        }
        reasons.Add(why);
        Settle(d.detectionId);
        if (book.Unwait(entityId, why, now) is { } unwaited)
        {
            ledger.Add(unwaited);
        }
        var skipped = new IsolationResult
        {
            commandId = CommandId(d.detectionId, level), entity = d.entity, level = level, status = ResultStatus.Skipped, error = why,
            startedAtNs = now, finishedAtNs = now, phases = new Dictionary<string, long>(StringComparer.Ordinal), actuator = "planner",
            dryRun = settings.DryRun,
        };
        return new PlanDecision(null, reasons, Ledger: ledger) { Skipped = skipped };
    }

    private void Spend(EntityRef entity, string entityId, string detectionId, long atNs)
    {
        _budget.Spend(entity.datacenter, entity.host, entityId, atNs);
        if (_lastMove.Count >= MaxCooldowns)
        {
            var horizon = atNs - settings.Rules.Cooldown.Ticks * 100;
            foreach (var old in _lastMove.Where(kv => kv.Value.AtNs < horizon).Select(kv => kv.Key).ToList())
            {
                _lastMove.Remove(old);
            }
        }
        _lastMove[entityId] = (atNs, detectionId);
    }

    private static MoveBudget Seed(PlacementBook book, PlannerSettings settings)
    {
        var budget = new MoveBudget(settings.Rules.Budgets);
        var ttlNs = settings.CommandTtl.Ticks * 100;
        foreach (var m in book.Held.SelectMany(s => s.members).Where(m => m.commandId is not null).OrderBy(m => m.deadlineNs))
        {
            budget.Spend(m.entity.datacenter, m.entity.host, m.entityId, m.deadlineNs - ttlNs);
        }
        return budget;
    }
}
