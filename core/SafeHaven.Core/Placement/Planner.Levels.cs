using System.Globalization;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Placement;

// The levels between core and machine: the process stays on its host, the agent there changes what it shares.
public sealed partial class Planner
{
    /// <summary>The <c>target</c> of an smt-level command: the suspect group's core-scheduling cookie (the group is in the command).</summary>
    public const string SmtTarget = "cookie";

    // The next level above `level` that breaks `scope`; for a scope this build does not know (a ledger written by a newer
    // planner), the next level of all, as before scopes had levels of their own.
    private static string? NextLevel(string scope, string level) =>
        Scopes.All.Contains(scope) ? Scopes.NextLevel(scope, level) : Levels.Next(level);

    private (ActuatorInfo?, Reservation?, string?, string) FindOnHost(EntityRef e, string group, string level)
    {
        if (e.pid is null)
        {
            return (null, null, null, "entity is not a process");
        }
        var host = book.OnHost(e.datacenter, e.host, level);
        if (host is null)
        {
            return (null, null, null, $"no {level}-level actuator on host {e.host} (its agent announces the level only where the machine has the mechanism)");
        }
        switch (level)
        {
            case Levels.Smt:
                var cookie = book.ReserveSmt(host, group);
                return (host, cookie, SmtTarget, cookie.Fresh
                    ? $"a core-scheduling cookie of its own on {host.ActuatorId} for group {group}: no other task runs on its core's siblings meanwhile"
                    : $"joins the core-scheduling cookie of its group {group} on {host.ActuatorId}");
            case Levels.Llc:
                return book.ReserveLlc(host, group) switch
                {
                    null => (null, null, null, $"no free LLC group on {host.ActuatorId} (all {host.LlcSlots} held)"),
                    var r => (host, r, Index(r.Slot), r.Fresh
                        ? $"LLC group {Index(r.Slot)} of {host.ActuatorId} (cache ways and memory bandwidth of its own) for group {group}"
                        : $"joins LLC group {Index(r.Slot)} of {host.ActuatorId}, held by its group {group}"),
                };
            default:
                return book.ReserveNode(host, group) switch
                {
                    null => (null, null, null, host.IsolationNodes.Count == 0
                        ? $"{host.ActuatorId} announces no NUMA node to hand out"
                        : $"no free NUMA node on {host.ActuatorId} (nodes {string.Join(",", host.IsolationNodes.Keys.Order())} held or with core slots of other groups)"),
                    var r => (host, r, Index(r.Slot), r.Fresh
                        ? $"NUMA node {Index(r.Slot)} of {host.ActuatorId} (cpus {r.Cpus} and its memory) for group {group}"
                        : $"joins NUMA node {Index(r.Slot)} of {host.ActuatorId}, held by its group {group}"),
                };
        }
    }

    private static string Index(string slot) => slot[(slot.LastIndexOf(':') + 1)..];

    /// <summary>The index an llc or numa command's <c>target</c> names, or null when it is not a small non-negative integer.</summary>
    public static int? TargetIndex(string? target) =>
        target is { Length: > 0 and <= 4 } && int.TryParse(target, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : null;
}
