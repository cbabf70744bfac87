namespace SafeHaven.Core;

/// <summary>Channel scopes of rules (docs/DESIGN.md §2), the values of <c>Detection.scope</c>.</summary>
public static class Scopes
{
    /// <summary>L1/L2, branch predictor, SMT: needs an exclusive core.</summary>
    public const string Core = "core";
    /// <summary>LLC, memory bus, /proc: needs a host with no other tenant.</summary>
    public const string Machine = "machine";
    /// <summary>vCPU sharing, scheduler: needs dedicated pCPUs or a move.</summary>
    public const string Vm = "vm";
    /// <summary>Page dedup, fingerprinting: needs a hypervisor with no other tenant.</summary>
    public const string Hypervisor = "hypervisor";
    /// <summary>Remote timing, co-located network paths: needs a host in another network segment, away from its victims.</summary>
    public const string Network = "network";

    /// <summary>Every scope, in order of growing granularity.</summary>
    public static IReadOnlyList<string> All { get; } = [Core, Machine, Vm, Hypervisor, Network];

    /// <summary>The cheapest isolation level that can break a channel of <paramref name="scope"/>.</summary>
    public static string MinimumLevel(string scope) => scope switch
    {
        Core => Levels.Core,
        Machine or Network => Levels.Container,
        Vm or Hypervisor => Levels.Vm,
        _ => throw new ArgumentException($"unknown scope '{scope}' (expected one of {string.Join(", ", All)})", nameof(scope)),
    };
}

/// <summary>Isolation levels, cheapest first (docs/DESIGN.md §2), the values of <c>IsolationCommand.level</c>.</summary>
public static class Levels
{
    /// <summary>Exclusive core: cpuset and affinity.</summary>
    public const string Core = "core";
    /// <summary>Container to another host: CRIU checkpoint/restore.</summary>
    public const string Container = "container";
    /// <summary>VM to another hypervisor: live migration.</summary>
    public const string Vm = "vm";

    /// <summary>Every level, cheapest first.</summary>
    public static IReadOnlyList<string> All { get; } = [Core, Container, Vm];

    /// <summary>The next level up, or null at the top.</summary>
    public static string? Next(string level)
    {
        var i = IndexOf(level);
        return i + 1 < All.Count ? All[i + 1] : null;
    }

    /// <summary>Rank of a level, 0 for core; throws for an unknown level.</summary>
    public static int IndexOf(string level)
    {
        for (var i = 0; i < All.Count; i++)
        {
            if (All[i] == level)
            {
                return i;
            }
        }
        throw new ArgumentException($"unknown level '{level}' (expected one of {string.Join(", ", All)})", nameof(level));
    }
}

/// <summary>Values of <c>IsolationResult.status</c>.</summary>
public static class ResultStatus
{
    /// <summary>The move happened and was verified.</summary>
    public const string Succeeded = "succeeded";
    /// <summary>The actuator tried and could not; the reason is in <c>error</c>.</summary>
    public const string Failed = "failed";
    /// <summary>The command was refused (signature, deadline, foreign, malformed).</summary>
    public const string Rejected = "rejected";
    /// <summary>Nothing to do (already done, duplicate) or a dry run.</summary>
    public const string Skipped = "skipped";
}

/// <summary>Values of <c>IsolationCommand.action</c>.</summary>
public static class Actions
{
    /// <summary>Move the entity onto the target.</summary>
    public const string Isolate = "isolate";
    /// <summary>Give the slot back; the entity returns to the shared set.</summary>
    public const string Release = "release";
    /// <summary>
    /// Sent to the target agent of a container or VM move, ahead of the source's <see cref="Isolate"/>:
    /// prepare the incoming side (an <c>-incoming</c> QEMU, a CRIU page server), accept the entity,
    /// verify it runs, and report the destination's phases. Same <c>source</c>/<c>target</c> as the move.
    /// </summary>
    public const string Receive = "receive";

    /// <summary>Suffix of a receive command's id: the id of the move it serves, plus this.</summary>
    public const string ReceiveIdSuffix = "-in";
}

/// <summary>Values of <c>Detection.kind</c>.</summary>
public static class DetectionKinds
{
    /// <summary>The rule fired: isolate the entity.</summary>
    public const string Detected = "detected";
    /// <summary>An entity the rule fired on stayed below its clear bound for the rule's <c>releaseAfter</c>: release it.</summary>
    public const string Quiet = "quiet";
}
