using SafeHaven.Actuators.Agent;
using SafeHaven.Core;
using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.Actuators.Host;

// The levels between core and machine: checked and run here, beside the core level.
public sealed partial class HostActuator
{
    /// <summary>The intermediate levels this host executes.</summary>
    public HostLevels Intermediate { get; }

    // Validates an smt, llc or numa command's target against what this host hands out: the slot index (llc), the node and its
    // CPUs (numa), the cookie marker (smt). Only integers in range reach paths; anything else is refused before any action.
    private string? CheckLevel(IsolationCommand cmd, out CpuList cpus, out int index)
    {
        cpus = CpuList.Empty;
        index = -1;
        if (Intermediate.Refusal(cmd.level) is { } refused)
        {
            return refused;
        }
        switch (cmd.level)
        {
            case Levels.Smt:
                return cmd.target == Planner.SmtTarget ? null : $"target '{Identifiers.Printable(cmd.target)}' of an smt command must be '{Planner.SmtTarget}'";
            case Levels.Llc:
                index = Planner.TargetIndex(cmd.target) ?? -1;
                return index >= 0 && index < Intermediate.LlcSlots
                    ? null
                    : $"target '{Identifiers.Printable(cmd.target)}' is not an LLC group of this host (0..{Intermediate.LlcSlots - 1})";
            default:
                index = Planner.TargetIndex(cmd.target) ?? -1;
                if (!Intermediate.Nodes.TryGetValue(index, out var node))
                {
                    return $"target '{Identifiers.Printable(cmd.target)}' is not a NUMA node this host hands out ({string.Join(",", Intermediate.Nodes.Keys.Order())})";
                }
                cpus = cmd.action == Actions.Release ? _shared : node;
                return null;
        }
    }

    // The real state of an smt, llc or numa command a restart cut short, read by the level's own mover (the same target checks
    // as CheckLevel: only a slot index or node this host hands out reaches a path); the CPUs to report (numa) or null.
    private (LevelReading Reading, CpuList? Cpus) ReadLevel(JournalEntry e, int pid, bool isolated)
    {
        if (Intermediate.Refusal(e.Level) is { } missing)
        {
            return (new LevelReading(false, $"its state is not read back: {missing}"), null);
        }
        var index = Planner.TargetIndex(e.Target) ?? -1;
        switch (e.Level)
        {
            case Levels.Smt:
                return (Intermediate.Smt!.Read(pid, isolated), null);
            case Levels.Llc when index >= 0 && index < Intermediate.LlcSlots:
                return (Intermediate.Llc!.Read(pid, index, isolated), null);
            case Levels.Numa when Intermediate.Nodes.TryGetValue(index, out var node):
                var cpus = isolated ? node : _shared;
                var reading = Intermediate.Numa!.Read(pid, index, cpus, isolated);
                return (reading, reading.Holds ? cpus : null);
            default:
                return (new LevelReading(false, $"target '{Identifiers.Printable(e.Target)}' is not a {e.Level} slot of this host"), null);
        }
    }

    private CoreMoveOutcome Run(IsolationCommand cmd, int pid, CpuList cpus, int index)
    {
        var release = cmd.action == Actions.Release;
        return cmd.level switch
        {
            Levels.Smt => release ? Intermediate.Smt!.Release(pid, cmd.group) : Intermediate.Smt!.Isolate(pid, cmd.group ?? $"pid-{pid}"),
            Levels.Llc => release ? Intermediate.Llc!.Release(pid, index) : Intermediate.Llc!.Isolate(pid, index),
            Levels.Numa => release ? Intermediate.Numa!.Release(pid, cpus) : Intermediate.Numa!.Isolate(pid, index, cpus),
            _ => release ? _isolator.Release(pid, cpus) : _isolator.Isolate(pid, cpus),
        };
    }
}
