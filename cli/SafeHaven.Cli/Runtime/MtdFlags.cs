using System.CommandLine;
using SafeHaven.Cli.Commands;
using SafeHaven.Cli.Configuration;
using SafeHaven.Core;
using SafeHaven.StreamProcessors.MovingTarget;

namespace SafeHaven.Cli.Runtime;

/// <summary>
/// The moving-target flags of the roles that run the planner (<c>up</c>, <c>plan</c>): one schedule per level,
/// sharing --mtd-period and --mtd-jitter; a config file can give each level its own (MovingTargetOptions).
/// </summary>
internal sealed class MtdFlags
{
    public Option<int[]> Pids { get; } = new("--mtd-pid")
    {
        Description = "Moving-target defence, core level: move this pid to the next free CPU of its host's isolation pool every --mtd-period (repeatable)",
        AllowMultipleArgumentsPerToken = true,
    };

    public Option<string[]> Containers { get; } = new("--mtd-container")
    {
        Description = "Moving-target defence, container level: ID[@HOST] (default host: this one), moved to another host by CRIU every --mtd-period (repeatable)",
        AllowMultipleArgumentsPerToken = true,
    };

    public Option<string[]> Vms { get; } = new("--mtd-vm")
    {
        Description = "Moving-target defence, vm level: NAME[@HYPERVISOR] (default: this host), live-migrated to another hypervisor every --mtd-period (repeatable)",
        AllowMultipleArgumentsPerToken = true,
    };

    public Option<string?> Period { get; } = new("--mtd-period")
    {
        Description = "Moving-target period (default 30s; the original measured ≈50 % throughput cost at 30s, ≈30 % at 60s for VMs)",
    };

    public Option<string?> Jitter { get; } = new("--mtd-jitter")
    {
        Description = "Each wait is the period ± a uniform random offset up to this (default 0; less than the period)",
    };

    public Option<string[]> Targets { get; } = new("--mtd-targets")
    {
        Description = "LEVEL=T1,T2…: where that level's entities may go (core: CPUs; container, vm: host or actuator ids); default any (repeatable)",
        AllowMultipleArgumentsPerToken = true,
    };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Pids, Containers, Vms, Period, Jitter, Targets })
        {
            command.Options.Add(o);
        }
    }

    /// <summary>
    /// The SafeHaven:MovingTarget section (--config, SAFEHAVEN__ variables) with the schedules the flags give added, on
    /// <paramref name="datacenter"/>/<paramref name="host"/>; null (off) when neither names an entity.
    /// </summary>
    public MovingTargetOptions? Options(ParseResult parse, string datacenter, string host)
    {
        var config = SafeHavenConfig.Of(parse);
        var options = config.Bind<MovingTargetOptions>(MovingTargetOptions.SectionName);
        if (!config.IsSet($"{MovingTargetOptions.SectionName}:{nameof(MovingTargetOptions.Datacenter)}"))
        {
            options.Datacenter = datacenter;
        }
        var pids = parse.GetValue(Pids) ?? [];
        var containers = parse.GetValue(Containers) ?? [];
        var vms = parse.GetValue(Vms) ?? [];
        if (pids.Length + containers.Length + vms.Length == 0)
        {
            if (options.Schedules.Count > 0)
            {
                config.Validate(MovingTargetOptions.SectionName, options.Validate);
                return options;
            }
            return parse.GetValue(Period) is null && parse.GetValue(Jitter) is null && (parse.GetValue(Targets) ?? []).Length == 0 ? null
                : throw new UsageException("--mtd-period, --mtd-jitter and --mtd-targets need at least one --mtd-pid, --mtd-container or --mtd-vm");
        }
        var period = CommonOptions.ParseDuration(parse.GetValue(Period), "--mtd-period") ?? TimeSpan.FromSeconds(30);
        var jitter = CommonOptions.ParseDuration(parse.GetValue(Jitter), "--mtd-jitter") ?? TimeSpan.Zero;
        var targets = ParseTargets(parse.GetValue(Targets) ?? []);
        MovingTargetSchedule Schedule(string level)
        {
            var s = new MovingTargetSchedule { Level = level, Period = period, Jitter = jitter };
            foreach (var t in targets.GetValueOrDefault(level) ?? [])
            {
                s.AllowedTargets.Add(t);
            }
            options.Schedules.Add(s);
            return s;
        }
        if (pids.Length > 0)
        {
            var s = Schedule(Levels.Core);
            foreach (var pid in pids)
            {
                s.Entities.Add(new MovingTargetEntity { Host = host, Pid = pid });
            }
        }
        foreach (var (level, values, flag) in new[] { (Levels.Container, containers, "--mtd-container"), (Levels.Vm, vms, "--mtd-vm") })
        {
            if (values.Length == 0)
            {
                continue;
            }
            var s = Schedule(level);
            foreach (var v in values)
            {
                var at = v.IndexOf('@', StringComparison.Ordinal);
                var (name, on) = at < 0 ? (v, host) : (v[..at], v[(at + 1)..]);
                if (name.Length == 0 || on.Length == 0)
                {
                    throw new UsageException($"{flag} '{v}': expected NAME or NAME@HOST");
                }
                s.Entities.Add(level == Levels.Vm ? new MovingTargetEntity { Host = on, Vm = name } : new MovingTargetEntity { Host = on, Container = name });
            }
        }
        foreach (var level in targets.Keys.Where(l => options.Schedules.All(s => s.Level != l)))
        {
            throw new UsageException($"--mtd-targets {level}=…: no entity of level {level} is scheduled");
        }
        config.Validate(MovingTargetOptions.SectionName, options.Validate);
        return options;
    }

    private static Dictionary<string, string[]> ParseTargets(string[] values)
    {
        var targets = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var v in values)
        {
            var eq = v.IndexOf('=', StringComparison.Ordinal);
            var level = eq < 0 ? "" : v[..eq];
            if (!Levels.All.Contains(level) || eq == v.Length - 1)
            {
                throw new UsageException($"--mtd-targets '{v}': expected LEVEL=T1,T2 with LEVEL one of {string.Join(", ", Levels.All)}");
            }
            targets[level] = v[(eq + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }
        return targets;
    }
}
