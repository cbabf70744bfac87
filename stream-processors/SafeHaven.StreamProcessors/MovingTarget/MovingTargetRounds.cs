using System.Globalization;
using SafeHaven.Core;
using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.StreamProcessors.MovingTarget;

/// <summary>
/// Turns one period into commands: for every host with configured entities, its core-level
/// actuator's pool and the entities' last targets give the next targets. Knows nothing of
/// Kafka or timers; not thread-safe (the scheduler holds a lock around it).
/// </summary>
internal sealed class MovingTargetRounds(MovingTargetOptions options, TimeProvider time)
{
    private readonly Dictionary<string, ActuatorInfo> _actuators = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Host, int Pid), int> _last = [];
    private readonly string _reason = "moving-target: periodic migration every " + Format(options.Period);
    private long _round;

    /// <summary>Learns or updates an actuator from the inventory.</summary>
    public void Upsert(ActuatorInfo actuator) => _actuators[actuator.ActuatorId] = actuator;

    /// <summary>The commands of the next round, in sending order, and why entities were left out.</summary>
    public (IReadOnlyList<IsolationCommand> Commands, IReadOnlyList<string> Problems) Next()
    {
        var round = ++_round;
        var commands = new List<IsolationCommand>();
        var problems = new List<string>();
        foreach (var group in options.Entities.GroupBy(e => (e.Datacenter, e.Host)))
        {
            var entities = group.ToList();
            var actuator = _actuators.Values
                .Where(a => a.Host == group.Key.Host && a.Levels.Contains(Levels.Core) &&
                            (group.Key.Datacenter.Length == 0 || a.Datacenter == group.Key.Datacenter))
                .OrderBy(a => a.ActuatorId, StringComparer.Ordinal).FirstOrDefault();
            if (actuator is null || actuator.IsolationPool.IsEmpty)
            {
                problems.AddRange(entities.Select(e => $"{e.Host}/pid/{e.Pid}: no core-level actuator with an isolation pool known on {e.Host}"));
                continue;
            }
            var last = entities.Select(e => _last.TryGetValue((e.Host, e.Pid), out var c) ? c : (int?)null).ToList();
            var targets = MovingTargetRotation.NextRound(actuator.IsolationPool, last);
            if (targets is null)
            {
                problems.AddRange(entities.Select(e =>
                    $"{e.Host}/pid/{e.Pid}: pool {actuator.IsolationPool} of {actuator.ActuatorId} has no spare CPU for {entities.Count} rotating entities"));
                continue;
            }
            foreach (var i in MovingTargetRotation.MoveOrder(last, targets))
            {
                var e = entities[i];
                // Optimistic: the next round starts from here even if this move fails, so a
                // refused target is not retried forever.
                _last[(e.Host, e.Pid)] = targets[i];
                commands.Add(Command(actuator, e, targets[i], round));
            }
        }
        return (commands, problems);
    }

    private IsolationCommand Command(ActuatorInfo actuator, MovingTargetEntity e, int cpu, long round)
    {
        var nowNs = time.NowNs();
        return new IsolationCommand
        {
            // The issue time keeps ids unique across restarts: actuators run an id at most once.
            commandId = string.Create(CultureInfo.InvariantCulture, $"mtd-{actuator.ActuatorId}-{e.Pid}-{nowNs}-{round}"),
            detectionId = null,
            entity = new EntityRef { datacenter = actuator.Datacenter, host = e.Host, pid = e.Pid },
            level = Levels.Core,
            action = Actions.Isolate,
            source = actuator.ActuatorId,
            target = cpu.ToString(CultureInfo.InvariantCulture),
            issuedAtNs = nowNs,
            deadlineNs = nowNs + options.CommandTtl.Ticks * 100,
            dryRun = options.DryRun,
            reasons = [_reason],
            keyId = null,
            signature = [],
        };
    }

    /// <summary>"30s", "1.5s" or "250ms": how operators write periods.</summary>
    internal static string Format(TimeSpan period) => period.TotalSeconds >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{period.TotalSeconds:0.###}s")
        : string.Create(CultureInfo.InvariantCulture, $"{period.TotalMilliseconds:0.###}ms");
}
