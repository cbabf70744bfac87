using Microsoft.Extensions.Time.Testing;
using SafeHaven.Core;
using SafeHaven.Core.Placement;
using SafeHaven.StreamProcessors.MovingTarget;

namespace SafeHaven.StreamProcessors.Tests.MovingTarget;

public sealed class MovingTargetRoundsTests
{
    internal static MovingTargetOptions Options(params int[] pids)
    {
        var options = new MovingTargetOptions();
        foreach (var pid in pids)
        {
            options.Entities.Add(new MovingTargetEntity { Host = "h1", Pid = pid });
        }
        return options;
    }

    private static ActuatorInfo Actuator(string pool) =>
        new("h1-agent", "dc1", "h1", new HashSet<string> { Levels.Core }, CpuList.Parse(pool));

    [Fact]
    public void Without_a_known_actuator_nothing_moves_and_it_says_why()
    {
        var rounds = new MovingTargetRounds(Options(42), new FakeTimeProvider());
        var (commands, problems) = rounds.Next();
        Assert.Empty(commands);
        Assert.Equal("h1/pid/42: no core-level actuator with an isolation pool known on h1", Assert.Single(problems));
    }

    [Fact]
    public void Commands_alternate_over_the_pool_and_carry_what_actuators_need()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
        var rounds = new MovingTargetRounds(Options(42), clock);
        rounds.Upsert(Actuator("2-3"));

        var targets = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var cmd = Assert.Single(rounds.Next().Commands);
            targets.Add(cmd.target);
            Assert.Null(cmd.detectionId);
            Assert.Equal("h1-agent", cmd.source);
            Assert.Equal(Levels.Core, cmd.level);
            Assert.Equal(Actions.Isolate, cmd.action);
            Assert.Equal(("dc1", "h1", 42), (cmd.entity.datacenter, cmd.entity.host, cmd.entity.pid));
            Assert.Equal(["moving-target: periodic migration every 30s"], cmd.reasons);
            Assert.Equal(10_000_000_000, cmd.deadlineNs - cmd.issuedAtNs);
            Assert.True(Identifiers.IsId(cmd.commandId), cmd.commandId);
            Assert.Empty(cmd.signature);
            clock.Advance(TimeSpan.FromSeconds(30));
        }
        Assert.Equal(["2", "3", "2", "3"], targets);
    }

    [Fact]
    public void Two_entities_on_one_host_move_in_an_order_the_actuator_accepts()
    {
        var rounds = new MovingTargetRounds(Options(42, 43), new FakeTimeProvider());
        rounds.Upsert(Actuator("2-4"));
        Assert.Equal(["42→2", "43→3"], rounds.Next().Commands.Select(c => $"{c.entity.pid}→{c.target}"));
        // 43 leaves 3 for 4 before 42 takes 3.
        Assert.Equal(["43→4", "42→3"], rounds.Next().Commands.Select(c => $"{c.entity.pid}→{c.target}"));
    }

    [Fact]
    public void A_pool_without_a_spare_cpu_is_reported()
    {
        var rounds = new MovingTargetRounds(Options(42, 43), new FakeTimeProvider());
        rounds.Upsert(Actuator("2-3"));
        var (commands, problems) = rounds.Next();
        Assert.Empty(commands);
        Assert.All(problems, p => Assert.Contains("pool 2-3 of h1-agent has no spare CPU for 2 rotating entities", p, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("vm", 30, 42, "level 'vm' is not supported")]
    [InlineData("core", 0.5, 42, "period must be at least 1s")]
    [InlineData("core", 30, 0, "pid 0 is not a valid pid")]
    public void Options_are_validated(string level, double periodSeconds, int pid, string message)
    {
        var options = Options(pid);
        options.Level = level;
        options.Period = TimeSpan.FromSeconds(periodSeconds);
        Assert.Contains(message, Assert.Throws<ArgumentException>(options.Validate).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_need_entities_listed_once()
    {
        Assert.Contains("at least one entity", Assert.Throws<ArgumentException>(Options().Validate).Message, StringComparison.Ordinal);
        Assert.Contains("listed twice", Assert.Throws<ArgumentException>(Options(7, 7).Validate).Message, StringComparison.Ordinal);
        Options(7).Validate();
    }
}
