namespace SafeHaven.Core;

/// <summary>Channel scopes of rules (docs/DESIGN.md §2), the values of <c>Detection.scope</c>.</summary>
public static class Scopes
{
    /// <summary>Contention between SMT siblings running at the same time (execution ports, sibling-shared buffers).</summary>
    public const string Smt = "smt";
    /// <summary>L1/L2, branch predictor, SMT: needs an exclusive core.</summary>
    public const string Core = "core";
    /// <summary>LLC occupancy (prime+probe), memory bandwidth contention: needs cache ways of its own.</summary>
    public const string Llc = "llc";
    /// <summary>Memory controller and DRAM (row buffers, channel contention): needs a NUMA node of its own.</summary>
    public const string Memory = "memory";
    /// <summary>LLC, memory bus, /proc: needs a host with no other tenant.</summary>
    public const string Machine = "machine";
    /// <summary>vCPU sharing, scheduler: needs dedicated pCPUs or a move.</summary>
    public const string Vm = "vm";
    /// <summary>Page dedup, fingerprinting: needs a hypervisor with no other tenant.</summary>
    public const string Hypervisor = "hypervisor";
    /// <summary>Remote timing, co-located network paths: needs a host in another network segment, away from its victims.</summary>
    public const string Network = "network";

    /// <summary>Every scope, in order of growing granularity.</summary>
    public static IReadOnlyList<string> All { get; } = [Smt, Core, Llc, Memory, Machine, Vm, Hypervisor, Network];

    /// <summary>The cheapest isolation level that can break a channel of <paramref name="scope"/>.</summary>
    public static string MinimumLevel(string scope) => LevelsFor(scope)[0];

    /// <summary>
    /// The levels whose isolation criterion breaks a channel of <paramref name="scope"/>, cheapest first (docs/DESIGN.md §2):
    /// the planner starts at the first and escalates only through these.
    /// </summary>
    public static IReadOnlyList<string> LevelsFor(string scope) => scope switch
    {
        // A node of its own brings its own cores (and, where the node has its own LLC, its cache): it breaks every
        // channel the cheaper levels break. Core scheduling does not break L1/L2 (time-shared on one CPU); an exclusive
        // CPU does not partition the LLC; cache ways do not separate cores.
        Smt => [Levels.Smt, Levels.Core, Levels.Numa, Levels.Container, Levels.Vm],
        Core => [Levels.Core, Levels.Numa, Levels.Container, Levels.Vm],
        Llc => [Levels.Llc, Levels.Numa, Levels.Container, Levels.Vm],
        Memory => [Levels.Numa, Levels.Container, Levels.Vm],
        Machine or Network => [Levels.Container, Levels.Vm],
        Vm or Hypervisor => [Levels.Vm],
        _ => throw new ArgumentException($"unknown scope '{scope}' (expected one of {string.Join(", ", All)})", nameof(scope)),
    };

    /// <summary>True when isolation at <paramref name="level"/> breaks a channel of <paramref name="scope"/>.</summary>
    public static bool Breaks(string scope, string level) => LevelsFor(scope).Contains(level);

    /// <summary>The next level above <paramref name="level"/> that still breaks <paramref name="scope"/>, or null at the top.</summary>
    public static string? NextLevel(string scope, string level)
    {
        var rank = Levels.IndexOf(level);
        return LevelsFor(scope).FirstOrDefault(l => Levels.IndexOf(l) > rank);
    }
}

/// <summary>Isolation levels, cheapest first (docs/DESIGN.md §2), the values of <c>IsolationCommand.level</c>.</summary>
public static class Levels
{
    /// <summary>SMT siblings: Linux core scheduling gives the suspect group a cookie of its own, so no other task runs on its core's siblings meanwhile.</summary>
    public const string Smt = "smt";
    /// <summary>Exclusive core: cpuset and affinity.</summary>
    public const string Core = "core";
    /// <summary>LLC ways and memory bandwidth of its own: a resctrl group (Intel CAT/MBA, AMD QoS).</summary>
    public const string Llc = "llc";
    /// <summary>A NUMA node of its own: the workload's cpuset gets one node's CPUs and memory.</summary>
    public const string Numa = "numa";
    /// <summary>Container to another host: CRIU checkpoint/restore.</summary>
    public const string Container = "container";
    /// <summary>VM to another hypervisor: live migration.</summary>
    public const string Vm = "vm";

    /// <summary>Every level, cheapest first.</summary>
    public static IReadOnlyList<string> All { get; } = [Smt, Core, Llc, Numa, Container, Vm];

    /// <summary>The levels a host agent executes on a process in place (no move to another host).</summary>
    public static IReadOnlyList<string> OnHost { get; } = [Smt, Core, Llc, Numa];

    /// <summary>The next level up, or null at the top.</summary>
    public static string? Next(string level)
    {
        var i = IndexOf(level);
        return i + 1 < All.Count ? All[i + 1] : null;
    }

    /// <summary>Rank of a level, 0 for the cheapest; throws for an unknown level.</summary>
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
