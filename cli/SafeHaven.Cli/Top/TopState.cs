using SafeHaven.Core;
using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.Cli.Top;

/// <summary>
/// What <c>safehaven top</c> shows, folded from the topics as they are read: hosts and their sampling, hot entities
/// and their rates against ε, isolations held, recent commands and their outcomes, dead letters and budget skips.
/// Pure: every time comes from the records, and the caller says what "now" is.
/// </summary>
internal sealed class TopState
{
    /// <summary>An entity counts as hot this long after its last detection (the detector repeats every 60 s while hot).</summary>
    public static readonly long HotForNs = 120_000_000_000;

    private const int RecentCommands = 20;
    private const int MaxHosts = 100_000;
    private readonly Dictionary<string, HostRow> _hosts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HotRow> _hot = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SlotRecord> _slots = new(StringComparer.Ordinal);
    private readonly LinkedList<CommandRow> _commands = new();
    private readonly Dictionary<string, int> _deadLetters = new(StringComparer.Ordinal);

    /// <summary>Results with status <c>skipped</c> (a budget or policy said no).</summary>
    public long Skipped { get; private set; }

    /// <summary>Results with status <c>failed</c> or <c>rejected</c>.</summary>
    public long Failed { get; private set; }

    /// <summary>Records read, per topic kind.</summary>
    public Dictionary<string, long> Records { get; } = new(StringComparer.Ordinal);

    /// <summary>Folds one sample in: the host's sampling state, and the rate of a hot entity's counter.</summary>
    public void OnSample(CounterSample s)
    {
        Count("samples");
        if (!_hosts.TryGetValue(s.host, out var host))
        {
            if (_hosts.Count >= MaxHosts)
            {
                return;
            }
            host = _hosts[s.host] = new HostRow(s.host, s.entity.datacenter);
        }
        host.Samples++;
        if (s.timestampNs > host.LastWindowEndNs)
        {
            // A new tick: the previous one is complete, so its entity count is the host's current width.
            if (host.LastWindowEndNs != 0 && s.timestampNs - host.LastWindowEndNs > s.intervalNs / 2)
            {
                host.EntitiesLastTick = host.EntitiesThisTick;
                host.EntitiesThisTick = 0;
            }
            host.LastWindowEndNs = s.timestampNs;
            host.PeriodNs = s.intervalNs;
        }
        host.EntitiesThisTick++;
        if (_hot.TryGetValue(EntityIds.Of(s.entity), out var hot) && s.values.TryGetValue(hot.Counter, out var count) && s.intervalNs > 0)
        {
            hot.LastRate = count * 1e9 / s.intervalNs;
            hot.LastRateAtNs = s.timestampNs;
        }
    }

    /// <summary>Folds one detection in.</summary>
    public void OnDetection(Detection d)
    {
        Count("detections");
        var id = EntityIds.Of(d.entity);
        if (!_hot.TryGetValue(id, out var row))
        {
            row = _hot[id] = new HotRow(id, d.entity);
        }
        row.Rule = d.rule;
        row.Counter = d.counter;
        row.Threshold = d.threshold;
        row.Scope = d.scope;
        row.Detections++;
        if (d.detectedAtNs >= row.LastDetectedAtNs)
        {
            row.LastDetectedAtNs = d.detectedAtNs;
            row.DetectedRate = d.rate;
            row.LastRate = d.rate;
            row.LastRateAtNs = d.detectedAtNs;
        }
    }

    /// <summary>Folds one command in.</summary>
    public void OnCommand(IsolationCommand c)
    {
        Count("commands");
        _commands.AddFirst(new CommandRow(c.commandId, c.entity, c.level, c.action, c.target, c.issuedAtNs));
        while (_commands.Count > RecentCommands)
        {
            _commands.RemoveLast();
        }
    }

    /// <summary>Folds one result in: joined to its command when that is still among the recent ones.</summary>
    public void OnResult(IsolationResult r)
    {
        Count("results");
        switch (r.status)
        {
            case "skipped":
                Skipped++;
                break;
            case "failed" or "rejected":
                Failed++;
                break;
        }
        var row = _commands.FirstOrDefault(c => c.CommandId == r.commandId);
        if (row is null)
        {
            row = new CommandRow(r.commandId, r.entity, r.level, "?", r.actuator, r.startedAtNs);
            _commands.AddFirst(row);
            while (_commands.Count > RecentCommands)
            {
                _commands.RemoveLast();
            }
        }
        row.Status = r.status;
        row.Error = r.error;
        row.TotalMs = (r.finishedAtNs - r.startedAtNs) / 1e6;
        row.Phases = r.phases.ToDictionary(p => p.Key, p => p.Value / 1e6, StringComparer.Ordinal);
    }

    /// <summary>Folds one ledger record in; a null value (a tombstone) removes the slot.</summary>
    public void OnSlot(string key, SlotRecord? slot)
    {
        Count("placements");
        if (slot is null)
        {
            _slots.Remove(key);
        }
        else
        {
            _slots[key] = slot;
        }
    }

    /// <summary>Folds one dead letter in, counted by the reason's first clause.</summary>
    public void OnDeadLetter(DeadLetter d)
    {
        Count("dlq");
        var reason = d.reason.Split(':', 2)[0].Trim();
        reason = reason.Length > 60 ? reason[..60] : reason;
        _deadLetters[reason] = _deadLetters.GetValueOrDefault(reason) + 1;
    }

    /// <summary>Counts a record that could not be decoded (shown, never fatal: top is a view).</summary>
    public void OnUndecodable(string kind) => Count(kind + " (undecodable)");

    // A slot that holds capacity: not a detection's wait (key "wait:…", no level) nor a given-back booking of another
    // datacenter's move (key "receive:…"), which the ledger topic carries beside the slots.
    private static bool IsHeld(SlotRecord s) => s.group is not null && s.members.Count > 0
        && !s.slot.StartsWith(PlacementBook.WaitPrefix, StringComparison.Ordinal) && !s.slot.StartsWith(PlacementBook.ReceivePrefix, StringComparison.Ordinal);

    /// <summary>What to show at <paramref name="nowNs"/>.</summary>
    public TopSnapshot Snapshot(long nowNs) => new(
        nowNs,
        [.. _hosts.Values.OrderBy(h => h.Host, StringComparer.Ordinal)],
        [.. _hot.Values.Where(h => nowNs - h.LastDetectedAtNs <= HotForNs).OrderByDescending(h => h.LastDetectedAtNs)],
        [.. _slots.Values.Where(s => IsHeld(s)).OrderBy(s => s.level, StringComparer.Ordinal).ThenBy(s => s.slot, StringComparer.Ordinal)],
        [.. _slots.Values.Where(s => s.slot.StartsWith(PlacementBook.WaitPrefix, StringComparison.Ordinal) && s.members.Count > 0).OrderBy(s => s.updatedAtNs)],
        [.. _commands],
        new Dictionary<string, int>(_deadLetters, StringComparer.Ordinal),
        Skipped,
        Failed,
        new Dictionary<string, long>(Records, StringComparer.Ordinal));

    private void Count(string kind) => Records[kind] = Records.GetValueOrDefault(kind) + 1;
}
