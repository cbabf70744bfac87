using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.StreamProcessors.MovingTarget;

/// <summary>An entity a schedule moves: a process (core), a container or a VM, on the host where it starts.</summary>
public sealed class MovingTargetEntity
{
    /// <summary>Datacenter of the host; empty: the planner's default datacenter (<see cref="MovingTargetOptions.Datacenter"/>).</summary>
    public string Datacenter { get; set; } = "";

    /// <summary>Host (or hypervisor) the entity runs on when the schedule starts.</summary>
    public string Host { get; set; } = "";

    /// <summary>Process id (core level).</summary>
    public int? Pid { get; set; }

    /// <summary>Container id (container level).</summary>
    public string? Container { get; set; }

    /// <summary>VM name (vm level).</summary>
    public string? Vm { get; set; }

    /// <summary>The entity as the planner sees it.</summary>
    public EntityRef Ref(string defaultDatacenter) => new()
    {
        datacenter = Datacenter.Length > 0 ? Datacenter : defaultDatacenter, host = Host, pid = Pid, container = Container, vm = Vm,
    };
}

/// <summary>One level's schedule: which entities move, how often, and where they may go.</summary>
public sealed class MovingTargetSchedule
{
    /// <summary>The schedule's name (a token); its ledger members carry the rule <c>mtd:NAME</c>. Defaults to the level.</summary>
    public string Name { get; set; } = "";

    /// <summary>core, container or vm.</summary>
    public string Level { get; set; } = Levels.Core;

    /// <summary>The entities; at least one.</summary>
    public IList<MovingTargetEntity> Entities { get; } = [];

    /// <summary>Time between two moves of each entity. Defaults to 30 s (the original's figure).</summary>
    public TimeSpan Period { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Each wait is the period plus a uniform offset in ±jitter, so an attacker cannot time the moves. Default 0.</summary>
    public TimeSpan Jitter { get; set; }

    /// <summary>Where the entities may go: CPUs of the pool (core), actuator ids or host names (container, vm); empty: any.</summary>
    public IList<string> AllowedTargets { get; } = [];

    /// <summary>The name in force: <see cref="Name"/>, or the level when unset.</summary>
    public string EffectiveName => Name.Length > 0 ? Name : Level;
}

/// <summary>Moving-target defence settings (config section <c>SafeHaven:MovingTarget</c>): schedules per level.</summary>
public sealed class MovingTargetOptions
{
    /// <summary>Config section name.</summary>
    public const string SectionName = "SafeHaven:MovingTarget";

    /// <summary>The schedules; empty: moving-target defence is off.</summary>
    public IList<MovingTargetSchedule> Schedules { get; } = [];

    /// <summary>Datacenter of entities that name none. Defaults to "dc1", the agents' default.</summary>
    public string Datacenter { get; set; } = "dc1";

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        Identifiers.RequireToken(Datacenter, "moving-target datacenter");
        var names = new HashSet<string>(StringComparer.Ordinal);
        // An entity follows one schedule: two would move it twice per period and fight over its slot.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in Schedules)
        {
            // The intermediate levels (smt, llc, numa) hold a workload in place: moving it on a schedule means nothing there.
            if (s.Level is not (Levels.Core or Levels.Container or Levels.Vm))
            {
                throw new ArgumentException($"{SectionName}: moving-target level '{s.Level}' is not one of {Levels.Core}, {Levels.Container}, {Levels.Vm}");
            }
            if (!Identifiers.IsToken(s.EffectiveName) || !names.Add(s.EffectiveName))
            {
                throw new ArgumentException($"moving-target schedule name '{s.EffectiveName}' is not a valid id or is used twice");
            }
            // Below a second the moves would dominate the workload's time (a VM move takes ≈0.5–2 s here).
            if (s.Period < TimeSpan.FromSeconds(1))
            {
                throw new ArgumentException($"moving-target period of schedule {s.EffectiveName} must be at least 1s, got {s.Period}");
            }
            if (s.Jitter < TimeSpan.Zero || s.Jitter >= s.Period)
            {
                throw new ArgumentException($"moving-target jitter of schedule {s.EffectiveName} must be in [0, period), got {s.Jitter}");
            }
            if (s.Entities.Count == 0)
            {
                throw new ArgumentException($"moving-target schedule {s.EffectiveName} needs at least one entity");
            }
            foreach (var t in s.AllowedTargets)
            {
                var ok = s.Level == Levels.Core ? int.TryParse(t, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _) : Identifiers.IsToken(t);
                if (!ok)
                {
                    throw new ArgumentException($"moving-target target '{t}' of schedule {s.EffectiveName} is not a {(s.Level == Levels.Core ? "CPU number" : "host or actuator id")}");
                }
            }
            foreach (var e in s.Entities)
            {
                var what = s.Level switch
                {
                    Levels.Core => e.Pid is not null && e.Container is null && e.Vm is null,
                    Levels.Container => e.Container is not null && e.Pid is null && e.Vm is null,
                    _ => e.Vm is not null && e.Pid is null && e.Container is null,
                };
                if (!what)
                {
                    throw new ArgumentException($"moving-target schedule {s.EffectiveName} (level {s.Level}) needs entities with exactly a {(s.Level == Levels.Core ? "pid" : s.Level == Levels.Container ? "container id" : "VM name")}");
                }
                if (e.Pid == 1)
                {
                    throw new ArgumentException($"moving-target schedule {s.EffectiveName}: pid 1 (init) is never moved");
                }
                string id;
                try
                {
                    id = EntityIds.Of(e.Ref(Datacenter));
                }
                catch (ArgumentException x)
                {
                    throw new ArgumentException($"moving-target entity of schedule {s.EffectiveName}: {x.Message}", x);
                }
                if (!seen.Add(id))
                {
                    throw new ArgumentException($"moving-target entity {id} is listed twice (schedule {s.EffectiveName}): an entity follows one schedule");
                }
            }
        }
    }
}
