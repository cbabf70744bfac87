using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Time.Testing;
using SafeHaven.Core;
using SafeHaven.StreamProcessors.MovingTarget;

namespace SafeHaven.StreamProcessors.Tests.MovingTarget;

/// <summary>The schedules' options and clock (the old MovingTargetRoundsTests' validation cases are ported here).</summary>
public sealed class MovingTargetScheduleTests
{
    internal static MovingTargetOptions Options(string level = Levels.Core, params int[] pids)
    {
        var options = new MovingTargetOptions();
        var s = new MovingTargetSchedule { Level = level };
        foreach (var pid in pids)
        {
            s.Entities.Add(new MovingTargetEntity { Host = "h1", Pid = pid });
        }
        options.Schedules.Add(s);
        return options;
    }

    [Theory]
    [InlineData("rack", 30, 0, 42, "level 'rack' is not one of")]
    [InlineData("core", 0.5, 0, 42, "period of schedule core must be at least 1s")]
    [InlineData("core", 30, 30, 42, "jitter of schedule core must be in [0, period)")]
    [InlineData("core", 30, -1, 42, "jitter of schedule core must be in [0, period)")]
    [InlineData("core", 30, 0, 0, "is not a valid pid")]
    [InlineData("core", 30, 0, 1, "pid 1 (init) is never moved")]
    [InlineData("vm", 30, 0, 42, "(level vm) needs entities with exactly a VM name")]
    public void Options_are_validated(string level, double periodSeconds, double jitterSeconds, int pid, string message)
    {
        var options = Options(level, pid);
        options.Schedules[0].Period = TimeSpan.FromSeconds(periodSeconds);
        options.Schedules[0].Jitter = TimeSpan.FromSeconds(jitterSeconds);
        Assert.Contains(message, Assert.Throws<ArgumentException>(options.Validate).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Entities_are_listed_once_across_schedules_and_each_schedule_needs_one()
    {
        Assert.Contains("needs at least one entity", Assert.Throws<ArgumentException>(Options().Validate).Message, StringComparison.Ordinal);
        Assert.Contains("listed twice", Assert.Throws<ArgumentException>(Options(Levels.Core, 7, 7).Validate).Message, StringComparison.Ordinal);
        var two = Options(Levels.Core, 7);
        var again = new MovingTargetSchedule { Name = "fast", Level = Levels.Core, Period = TimeSpan.FromSeconds(10) };
        again.Entities.Add(new MovingTargetEntity { Host = "h1", Pid = 7 });
        two.Schedules.Add(again);
        Assert.Contains("an entity follows one schedule", Assert.Throws<ArgumentException>(two.Validate).Message, StringComparison.Ordinal);
        Options(Levels.Core, 7).Validate();
    }

    [Theory]
    [InlineData(Levels.Core, "2;rm -rf", "is not a CPU number")]
    [InlineData(Levels.Vm, "../h2", "is not a host or actuator id")]
    public void Allowed_targets_are_validated(string level, string target, string message)
    {
        var options = new MovingTargetOptions();
        var s = new MovingTargetSchedule { Level = level };
        s.Entities.Add(level == Levels.Core ? new MovingTargetEntity { Host = "h1", Pid = 42 } : new MovingTargetEntity { Host = "h1", Vm = "v1" });
        s.AllowedTargets.Add(target);
        options.Schedules.Add(s);
        Assert.Contains(message, Assert.Throws<ArgumentException>(options.Validate).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Hostile_entity_names_are_refused_before_they_reach_a_command()
    {
        foreach (var (vm, host) in new[] { ("../../etc", "h1"), ("v1", "h1/../../x"), ("v 1", "h1"), (new string('v', 300), "h1") })
        {
            var options = new MovingTargetOptions();
            var s = new MovingTargetSchedule { Level = Levels.Vm };
            s.Entities.Add(new MovingTargetEntity { Host = host, Vm = vm });
            options.Schedules.Add(s);
            Assert.Throws<ArgumentException>(options.Validate);
        }
    }

    [Fact]
    public void Schedules_per_level_bind_from_a_configuration_section()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SafeHaven:MovingTarget:Datacenter"] = "dc2",
            ["SafeHaven:MovingTarget:Schedules:0:Level"] = "core",
            ["SafeHaven:MovingTarget:Schedules:0:Period"] = "00:00:10",
            ["SafeHaven:MovingTarget:Schedules:0:Jitter"] = "00:00:02",
            ["SafeHaven:MovingTarget:Schedules:0:Entities:0:Host"] = "h1",
            ["SafeHaven:MovingTarget:Schedules:0:Entities:0:Pid"] = "4242",
            ["SafeHaven:MovingTarget:Schedules:0:AllowedTargets:0"] = "2",
            ["SafeHaven:MovingTarget:Schedules:0:AllowedTargets:1"] = "3",
            ["SafeHaven:MovingTarget:Schedules:1:Name"] = "guests",
            ["SafeHaven:MovingTarget:Schedules:1:Level"] = "vm",
            ["SafeHaven:MovingTarget:Schedules:1:Entities:0:Host"] = "hv1",
            ["SafeHaven:MovingTarget:Schedules:1:Entities:0:Vm"] = "web1",
        }).Build();
        var options = new MovingTargetOptions();
        config.GetSection(MovingTargetOptions.SectionName).Bind(options);
        options.Validate();
        Assert.Equal(["core", "guests"], options.Schedules.Select(s => s.EffectiveName));
        Assert.Equal((TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(2), 4242), (options.Schedules[0].Period, options.Schedules[0].Jitter, options.Schedules[0].Entities[0].Pid));
        Assert.Equal(["2", "3"], options.Schedules[0].AllowedTargets);
        Assert.Equal(("dc2", "hv1", "web1"), (options.Schedules[1].Entities[0].Ref(options.Datacenter).datacenter, options.Schedules[1].Entities[0].Host, options.Schedules[1].Entities[0].Vm));
        Assert.Equal(TimeSpan.FromSeconds(30), options.Schedules[1].Period);
    }

    [Fact]
    public void Each_entity_is_due_once_per_period_and_the_next_turn_counts_from_now()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
        var options = Options(Levels.Core, 42, 43);
        var clock = new MovingTargetClock(options, time, new Random(1));
        Assert.Equal(2, clock.Count);
        Assert.Empty(clock.Due());
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.Empty(clock.Due());
        time.Advance(TimeSpan.FromSeconds(1));
        var due = clock.Due();
        Assert.Equal([42, 43], due.Select(m => m.Entity.pid!.Value));
        Assert.All(due, m => Assert.Equal(("core", Levels.Core, "dc1", "h1"), (m.Schedule, m.Level, m.Entity.datacenter, m.Entity.host)));
        Assert.Empty(clock.Due());
        // A planner busy for 95 s fires each entity once, not three times.
        time.Advance(TimeSpan.FromSeconds(95));
        Assert.Equal(2, clock.Due().Count);
        Assert.Empty(clock.Due());
    }

    [Fact]
    public void Jitter_spreads_the_moves_within_plus_or_minus_its_bound()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
        var options = Options(Levels.Core, 42);
        options.Schedules[0].Period = TimeSpan.FromSeconds(30);
        options.Schedules[0].Jitter = TimeSpan.FromSeconds(10);
        var clock = new MovingTargetClock(options, time, new Random(7));
        var waits = new List<double>();
        var last = time.GetUtcNow();
        while (waits.Count < 200)
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            if (clock.Due().Count > 0)
            {
                waits.Add((time.GetUtcNow() - last).TotalSeconds);
                last = time.GetUtcNow();
            }
        }
        Assert.All(waits, w => Assert.InRange(w, 20, 40.1));
        // Spread, not constant: an attacker cannot time the next move from the last.
        Assert.True(waits.Max() - waits.Min() > 15, $"waits {waits.Min():F1}..{waits.Max():F1} s");
        Assert.InRange(waits.Average(), 28, 32);
    }
}
